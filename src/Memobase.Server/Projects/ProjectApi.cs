using System.Text.Json;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Projects;

public static class ProjectApi
{
    /// <summary>Largest <c>last_days</c> of the usage endpoint (ten years).</summary>
    public const int MaxUsageDays = 3660;

    public static RouteGroupBuilder MapProject(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/project").WithTags("project");

        group.MapGet("/billing", GetBilling)
            .WithName("get_project_billing_api_v1_project_billing_get")
            .WithSummary("Get Project Billing")
            .WithDescription("token_left (null when unlimited; usage_token_limit_* minus this month's LLM tokens), next_refill_at " +
                             "(first day of next month, UTC) and project_token_cost_month.");
        group.MapGet("/usage", GetUsage)
            .WithName("get_project_usage_api_v1_project_usage_get")
            .WithSummary("Get Project Usage")
            .WithDescription("Get the usage of a project in the last days: one element per UTC day, today first, with zeros for days " +
                             "without activity.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Ok<ApiResponse<BillingData>>> GetBilling(Caller caller, BillingService billing, CancellationToken ct)
        => Api.Ok(await billing.GetBillingAsync(caller, ct));

    public static async Task<Results<Ok<ApiResponse<IReadOnlyList<DailyUsage>>>, UnprocessableEntity<HttpValidationError>>> GetUsage(
        Caller caller, UsageReader usage, CancellationToken ct, int last_days = 7)
    {
        if (last_days is < 0 or > MaxUsageDays)
        {
            return Validation.Problem(["query", "last_days"], $"Input should be between 0 and {MaxUsageDays}", "value_error", last_days);
        }
        IReadOnlyList<DailyUsage> days = await usage.DailyAsync(caller.ProjectId, last_days, ct);
        return TypedResults.Ok(new ApiResponse<IReadOnlyList<DailyUsage>>(days, Errno.Success, ""));
    }
}
