using System.Diagnostics;
using Memobase.Server.Infrastructure;
using Memobase.Server.Llm;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Memobase.Server.Telemetry;
using Memobase.Server.Data;

namespace Memobase.Server.Observability;

/// <summary>What <c>status_check</c> found: each check's result and how long it took.</summary>
public sealed record StatusCheckData(string Database, string Llm, string Embedding, IReadOnlyDictionary<string, int> ElapsedMs);

/// <summary>
/// Upstream's <c>GET /api/v1/admin/status_check</c>: root only (others: HTTP 405 <c>{"detail":"Only Root can access this"}</c>);
/// the database (HTTP 500 <c>"Database not available"</c>), then one tiny LLM call (prompt "Test", 16 tokens) and, when
/// embeddings are enabled, one embedding of "Hello, world!" — a failure is HTTP 500
/// <c>{"detail":"Root status checking failed: ..."}</c> naming each failed check. Success: the envelope, with each
/// check's result in <c>data</c> (upstream's data is null; no SDK reads it).
/// </summary>
public static class StatusCheckApi
{
    public static RouteHandlerBuilder MapStatusCheck(this IEndpointRouteBuilder app)
        => app.MapGet("/api/v1/admin/status_check", StatusCheck)
            .WithTags("api")
            .WithName("root_running_status_check_api_v1_admin_status_check_get")
            .WithSummary("Root Running Status Check")
            .WithDescription("Root only. Checks the database, the LLM (one 16-token call) and embeddings (one short input, when enabled). " +
                             "HTTP 405 for a non-root token; HTTP 500 with detail naming the failed checks.")
            .Produces<HealthDetail>(StatusCodes.Status405MethodNotAllowed)
            .Produces<HealthDetail>(StatusCodes.Status500InternalServerError);

    public static async Task<Results<Ok<ApiResponse<StatusCheckData>>, JsonHttpResult<HealthDetail>>> StatusCheck(
        Caller caller, NpgsqlDataSource db, LlmClient llm, EmbeddingClient embeddings, CancellationToken ct)
    {
        if (!caller.IsRoot)
        {
            return TypedResults.Json(new HealthDetail("Only Root can access this"), statusCode: StatusCodes.Status405MethodNotAllowed);
        }
        var elapsed = new Dictionary<string, int>();
        var started = Stopwatch.GetTimestamp();
        if (await DatabaseProbe.CheckAsync(db, TimeSpan.FromSeconds(5), ct) is not null)
        {
            return TypedResults.Json(new HealthDetail("Database not available"), statusCode: StatusCodes.Status500InternalServerError);
        }
        elapsed["database"] = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        using var scope = LlmCallContext.ForProject(caller.ProjectId);
        using var stage = LlmCallContext.ForStage("status_check");
        var failures = new List<string>();
        started = Stopwatch.GetTimestamp();
        string llmResult;
        try
        {
            await llm.CompleteAsync(llm.BestModel, "", "Test", ct, maxTokens: 16);
            llmResult = "ok";
        }
        catch (LlmException ex)
        {
            llmResult = ex.Message;
            failures.Add($"LLM ({llm.BestModel}): {ex.Message}");
        }
        elapsed["llm"] = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        string embeddingResult = "disabled";
        if (embeddings.IsEnabled)
        {
            started = Stopwatch.GetTimestamp();
            try
            {
                await embeddings.EmbedAsync(["Hello, world!"], ct);
                embeddingResult = "ok";
            }
            catch (LlmException ex)
            {
                embeddingResult = ex.Message;
                failures.Add($"embedding: {ex.Message}");
            }
            elapsed["embedding"] = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        if (failures.Count > 0)
        {
            return TypedResults.Json(new HealthDetail("Root status checking failed: " + string.Join("; ", failures)),
                statusCode: StatusCodes.Status500InternalServerError);
        }
        return Api.Ok(new StatusCheckData("ok", llmResult, embeddingResult, elapsed));
    }
}
