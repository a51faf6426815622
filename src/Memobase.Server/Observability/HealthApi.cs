using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Observability;

/// <summary>Upstream's error body of the health and status checks: <c>{"detail": …}</c>.</summary>
public sealed record HealthDetail(string Detail);

public static class HealthApi
{
    public static RouteGroupBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").WithTags("api");
        group.MapGet("/healthcheck", HealthCheck)
            .WithName("healthcheck_api_v1_healthcheck_get")
            .WithSummary("Healthcheck")
            .WithDescription("Checks that the database answers. No authentication. HTTP 500 when it does not.")
            .AllowAnonymous()
            .Produces<HealthDetail>(StatusCodes.Status500InternalServerError);
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<object>>, JsonHttpResult<HealthDetail>>> HealthCheck(NpgsqlDataSource db, CancellationToken ct)
    {
        if (await DatabaseProbe.CheckAsync(db, TimeSpan.FromSeconds(5), ct) is null) return Api.Done();
        return TypedResults.Json(new HealthDetail("Database not available"), statusCode: StatusCodes.Status500InternalServerError);
    }
}
