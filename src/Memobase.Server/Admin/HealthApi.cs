using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Memobase.Server.Admin;

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
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await using var cmd = db.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(timeout.Token);
            return Api.Done();
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return TypedResults.Json(new HealthDetail("Database not available"), statusCode: StatusCodes.Status500InternalServerError);
        }
    }
}
