using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Memobase.Server.Idempotency;

/// <summary>
/// Marks an endpoint as honouring <c>Idempotency-Key</c>. <see cref="WithFlushResults"/> puts the results of the flush
/// the response waited for (<c>wait_process=true</c>) into the response's <c>data</c>.
/// </summary>
public sealed record IdempotentEndpoint(Func<JsonNode?, JsonNode, JsonNode?> WithFlushResults);

/// <summary>
/// The <c>Idempotency-Key</c> request header (IETF draft "The Idempotency-Key HTTP Header Field") on the write endpoints.
/// Without the header the endpoint runs exactly as without this filter. With it:
/// <list type="number">
/// <item>the key (1–255 printable ASCII characters) is claimed in a new transaction, scoped to the caller's project;</item>
/// <item>the handler runs with that transaction as the request's <see cref="RequestTransaction"/>, so its writes and the
///   stored response commit together: after a crash between the commit and the response, the retry replays the
///   original response (the same blob id);</item>
/// <item>a repeat with the same method, path, query string and body within the retention window gets the stored
///   response (header <c>Idempotent-Replayed: true</c>) and writes nothing; a different request with the same key gets
///   HTTP 409 with errno 409 naming the key;</item>
/// <item>a repeat that arrives while the first is still writing waits on the key's row lock, then replays;</item>
/// <item>with <c>wait_process=true</c> the write commits first (the key then records the flush job), then the flush is
///   waited for and the final response stored; a repeat in between (or after a crash) waits for the same job.</item>
/// </list>
/// Responses other than HTTP 200 (request validation) and exceptions roll the claim back with the writes: the key stays free.
/// </summary>
public sealed partial class IdempotencyFilter(
    NpgsqlDataSource db,
    IdempotencyStore store,
    IFlushJobAwaiter flushes,
    IOptionsMonitor<IdempotencyOptions> options,
    IOptions<JsonOptions> json,
    ILogger<IdempotencyFilter> logger) : IEndpointFilter
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!http.Request.Headers.TryGetValue(HeaderName, out var values)) return await next(context);
        if (Invalid(values) is { } error) return Validation.Problem([error]);
        var key = values[0]!;
        var caller = Caller.From(http.User) ?? throw new InvalidOperationException("Idempotency-Key on an endpoint without a caller");
        var endpoint = http.GetEndpoint()?.Metadata.GetMetadata<IdempotentEndpoint>()
                       ?? throw new InvalidOperationException("IdempotencyFilter without IdempotentEndpoint metadata");
        var ct = http.RequestAborted;
        var hash = await RequestHashAsync(http.Request, ct);

        StoredRequest? stored;
        object? result = null;
        var responseBody = "";
        Guid? awaited = null;
        await using (var conn = await db.OpenConnectionAsync(ct))
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            stored = await store.ClaimAsync(tx, caller.ProjectId, key, hash, options.CurrentValue.Retention, ct);
            if (stored is not null)
            {
                await tx.CommitAsync(ct);
            }
            else
            {
                var shared = http.RequestServices.GetRequiredService<RequestTransaction>();
                shared.Begin(tx);
                try
                {
                    result = await next(context);
                }
                finally
                {
                    shared.End();
                }
                if (Response(result) is not (StatusCodes.Status200OK, var value))
                {
                    await tx.RollbackAsync(ct);
                    return result;
                }
                awaited = shared.AwaitedJobId;
                responseBody = JsonSerializer.Serialize(value, value?.GetType() ?? typeof(object), json.Value.SerializerOptions);
                var jobHeader = Guid.TryParse(http.Response.Headers[MemobaseHeaders.JobId], out var headerJob) ? headerJob : (Guid?)null;
                await store.CompleteAsync(tx, caller.ProjectId, key,
                    awaited is null ? IdempotencyKeyStatus.Completed : IdempotencyKeyStatus.AwaitingFlush,
                    StatusCodes.Status200OK, responseBody, awaited ?? jobHeader, ct);
                await tx.CommitAsync(ct);
            }
        }

        if (stored is not null)
        {
            if (stored.RequestHash != hash) return Conflict(key);
            return stored.Status == IdempotencyKeyStatus.AwaitingFlush && stored.JobId is { } job
                ? await FinishAsync(http, endpoint, caller.ProjectId, key, stored.ResponseBody, job, replayed: true, ct)
                : Replay(http, stored.ResponseStatus, stored.ResponseBody, stored.JobId, replayed: true);
        }

        if (options.CurrentValue.TestCrashKey is { } crashKey && crashKey == key)
        {
            LogTestCrash(logger, key);
            Process.GetCurrentProcess().Kill();
        }
        return awaited is { } jobId
            ? await FinishAsync(http, endpoint, caller.ProjectId, key, responseBody, jobId, replayed: false, ct)
            : result;
    }

    /// <summary>The header must be given once, 1–255 printable ASCII characters.</summary>
    private static ValidationError? Invalid(Microsoft.Extensions.Primitives.StringValues values)
    {
        string[] loc = ["header", HeaderName];
        if (values.Count != 1) return new ValidationError(loc, $"{HeaderName} must be given once", "value_error");
        var value = values[0] ?? "";
        if (value.Length == 0) return new ValidationError(loc, "String should have at least 1 character", "string_too_short", value);
        if (value.Length > MemobaseDb.IdempotencyKeyLength)
        {
            return new ValidationError(loc, $"String should have at most {MemobaseDb.IdempotencyKeyLength} characters", "string_too_long");
        }
        return value.All(c => c is >= ' ' and <= '~')
            ? null
            : new ValidationError(loc, "String should contain only printable ASCII characters", "string_pattern_mismatch");
    }

    /// <summary>SHA-256 (hex) of the method, the path with its query string, and the body (read again from its buffer).</summary>
    private static async Task<string> RequestHashAsync(HttpRequest request, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method}\n{request.Path}{request.QueryString}\n"));
        if (request.Body.CanSeek)
        {
            request.Body.Position = 0;
            var buffer = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, ct)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The HTTP status and JSON value of a handler's typed result.</summary>
    private static (int Status, object? Value) Response(object? result)
    {
        while (result is INestedHttpResult nested) result = nested.Result;
        return result is IStatusCodeHttpResult { StatusCode: { } code } && result is IValueHttpResult valued ? (code, valued.Value) : (0, null);
    }

    /// <summary>Waits for the flush job the response depends on, then stores and answers the final response.</summary>
    private async Task<ContentHttpResult> FinishAsync(HttpContext http, IdempotentEndpoint endpoint, string projectId, string key, string pendingBody, Guid jobId,
        bool replayed, CancellationToken ct)
    {
        var outcome = await flushes.WaitForJobAsync(jobId, projectId, ct);
        var options = json.Value.SerializerOptions;
        JsonObject envelope;
        if (outcome.Failure is { } failure)
        {
            envelope = new JsonObject { ["data"] = null, ["errno"] = failure.Errno, ["errmsg"] = failure.Message };
        }
        else
        {
            envelope = JsonNode.Parse(pendingBody)!.AsObject();
            var results = JsonSerializer.SerializeToNode(outcome.Results, options) ?? new JsonArray();
            envelope["data"] = endpoint.WithFlushResults(envelope["data"]?.DeepClone(), results);
        }
        var body = envelope.ToJsonString(options);
        // A timed-out wait is not the outcome: the key keeps waiting for the job, so a retry waits again.
        if (outcome.Failure?.Errno != Errno.GatewayTimeout) await store.FinishAsync(projectId, key, body, ct);
        return Replay(http, StatusCodes.Status200OK, body, jobId, replayed);
    }

    private static ContentHttpResult Replay(HttpContext http, int status, string body, Guid? jobId, bool replayed)
    {
        if (jobId is { } job) http.Response.Headers[MemobaseHeaders.JobId] = job.ToString();
        if (replayed) http.Response.Headers[ReplayedHeader] = "true";
        return TypedResults.Content(body, "application/json", Encoding.UTF8, status);
    }

    private static JsonHttpResult<ApiResponse<object>> Conflict(string key)
        => TypedResults.Json(new ApiResponse<object>(null, Errno.Conflict,
                $"{HeaderName} '{key}' was already used for a different request (method, path, query string or body); use a new key for a new request"),
            statusCode: StatusCodes.Status409Conflict);

    [LoggerMessage(EventId = 4901, Level = LogLevel.Critical, Message = "idempotency_test_crash_key {Key}: killing the process after the commit (tests only)")]
    private static partial void LogTestCrash(ILogger logger, string key);
}
