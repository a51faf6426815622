using System.Text.Json;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Memobase.Server.Users;

namespace Memobase.Server.Projects;

/// <summary>Body of POST profile_config (the key is required; null clears the configuration).</summary>
public sealed record ProfileConfigData(string? ProfileConfig);

public sealed record ProjectUser(Guid Id, string ProjectId, JsonElement? AdditionalFields, DateTime CreatedAt, DateTime UpdatedAt, long ProfileCount, long EventCount);

public sealed record ProjectUsersData(IReadOnlyList<ProjectUser> Users, long Count);

public static class ProjectApi
{
    /// <summary>Largest <c>last_days</c> of the usage endpoint (ten years).</summary>
    public const int MaxUsageDays = 3660;

    /// <summary>The <c>order_by</c> values, in the order of <see cref="UserOrder"/>.</summary>
    private static readonly string[] OrderBy = ["updated_at", "profile_count", "event_count"];

    public static RouteGroupBuilder MapProject(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/project").WithTags("project");

        group.MapPost("/profile_config", UpdateProfileConfig)
            .WithName("update_project_profile_config_api_v1_project_profile_config_post")
            .WithSummary("Update Project Profile Config")
            .WithDescription("Store the project's profile_config YAML verbatim (null clears it). Longer than 65535 characters or " +
                             "invalid (YAML or schema) → errno 400.")
            .Accepts<ProfileConfigData>("application/json")
            .ProducesValidationProblem422();
        group.MapGet("/profile_config", GetProfileConfig)
            .WithName("get_project_profile_config_string_api_v1_project_profile_config_get")
            .WithSummary("Get Project Profile Config String")
            .WithDescription("The stored profile_config, \"\" when none.");
        group.MapGet("/billing", GetBilling)
            .WithName("get_project_billing_api_v1_project_billing_get")
            .WithSummary("Get Project Billing")
            .WithDescription("token_left (null when unlimited; usage_token_limit_* minus this month's LLM tokens), next_refill_at " +
                             "(first day of next month, UTC) and project_token_cost_month.");
        group.MapGet("/users", GetUsers)
            .WithName("get_project_users_api_v1_project_users_get")
            .WithSummary("Get Project Users")
            .WithDescription("Get the users of a project in different orders: search matches a substring of the user id; order_by " +
                             "updated_at|profile_count|event_count; count is the number of matching users.")
            .ProducesValidationProblem422();
        group.MapGet("/usage", GetUsage)
            .WithName("get_project_usage_api_v1_project_usage_get")
            .WithSummary("Get Project Usage")
            .WithDescription("Get the usage of a project in the last days: one element per UTC day, today first, with zeros for days " +
                             "without activity.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<object>>, UnprocessableEntity<HttpValidationError>>> UpdateProfileConfig(
        JsonElement body, Caller caller, ProjectStore projects, CancellationToken ct)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Validation.Problem(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
        }
        if (!body.TryGetProperty("profile_config", out var value)) return Validation.Problem([Validation.Missing("body", "profile_config")]);
        if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return Validation.Problem(["body", "profile_config"], "Input should be a valid string", "string_type");
        }
        var error = await projects.SetProfileConfigAsync(caller.ProjectId, value.GetString(), ct);
        return error is null ? Api.Done() : Api.Fail<object>(Errno.BadRequest, error);
    }

    public static async Task<Ok<ApiResponse<ProfileConfigData>>> GetProfileConfig(Caller caller, ProjectStore projects, CancellationToken ct)
        => Api.Ok(new ProfileConfigData(await projects.GetProfileConfigAsync(caller.ProjectId, ct)));

    public static async Task<Ok<ApiResponse<BillingData>>> GetBilling(Caller caller, BillingService billing, CancellationToken ct)
        => Api.Ok(await billing.GetBillingAsync(caller, ct));

    public static async Task<Results<Ok<ApiResponse<ProjectUsersData>>, UnprocessableEntity<HttpValidationError>>> GetUsers(
        Caller caller, UserDirectory users, CancellationToken ct,
        string? search = null, string? order_by = null, Flag? order_desc = null, int limit = 10, int offset = 0)
    {
        order_by ??= OrderBy[0];
        var column = Array.IndexOf(OrderBy, order_by);
        if (column < 0) return Validation.Problem([Validation.InvalidEnum("query", "order_by", order_by, OrderBy)]);
        if (limit < 0) return Validation.Problem(["query", "limit"], "Input should be greater than or equal to 0", "greater_than_equal", limit);
        if (offset < 0) return Validation.Problem(["query", "offset"], "Input should be greater than or equal to 0", "greater_than_equal", offset);
        var page = await users.ListAsync(new UserQuery(caller.ProjectId, search, limit, offset, (UserOrder)column, order_desc?.Value ?? true, WithFields: true), ct);
        return Api.Ok(new ProjectUsersData(
            [.. page.Users.Select(u => new ProjectUser(u.Id, u.ProjectId, u.AdditionalFields, u.CreatedAt, u.UpdatedAt, u.ProfileCount, u.EventCount))],
            page.Total));
    }

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
