using Memobase.Server.Data;
using Memobase.Server.Idempotency;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Memobase.Server.Buffers;

public static class BuffersApi
{
    public static RouteGroupBuilder MapBuffers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users/buffer").WithTags("buffer");

        group.MapGet("/capacity/{user_id}/{buffer_type}", GetBufferIds)
            .WithName("get_processing_buffer_ids_api_v1_users_buffer_capacity__user_id___buffer_type__get")
            .WithSummary("Get Processing Buffer Ids")
            .WithDescription("Ids of the user's buffer entries of this type in the given status (default: processing). " +
                             "Processed chat entries disappear with their blobs unless persistent_chat_blobs is on, so status=done " +
                             "lists chat entries only then; summary entries are always kept.")
            .ProducesValidationProblem422();
        group.MapPost("/{user_id}/{buffer_type}", FlushBuffer)
            .WithName("flush_buffer_api_v1_users_buffer__user_id___buffer_type__post")
            .WithSummary("Flush Buffer")
            .WithDescription("Flush unprocessed blobs into memory. data is [] when nothing is idle, null when processing was " +
                             "scheduled, and one result when wait_process=true. The X-Memobase-Job-Id response header names the " +
                             "flush job that has the buffer's entries (see GET /admin/v1/jobs/{job_id}).")
            .ProducesValidationProblem422()
            .WithIdempotency((_, results) => results);
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<IdsData>>, UnprocessableEntity<HttpValidationError>>> GetBufferIds(
        Guid user_id, string buffer_type, Caller caller, BufferEntryReader entries, CancellationToken ct, string? status = null)
    {
        status ??= BufferStatus.Processing;
        if (Array.IndexOf(BufferStatus.All, status) < 0)
        {
            return Validation.Problem([Validation.InvalidEnum("query", "status", status, BufferStatus.All)]);
        }
        return Api.Ok(new IdsData(await entries.IdsAsync(caller.ProjectId, user_id, buffer_type, status, ct)));
    }

    public static async Task<Ok<ApiResponse<IReadOnlyList<FlushResult>>>> FlushBuffer(
        Guid user_id, string buffer_type, Caller caller, IBufferFlusher flushes, RequestTransaction shared, HttpResponse response, CancellationToken ct,
        Flag? wait_process = null)
    {
        var outcome = await flushes.FlushAsync(caller.ProjectId, user_id, buffer_type, FlushTrigger.Flush, wait_process?.Value ?? false, shared, ct);
        if (outcome.JobId is { } jobId) response.Headers[MemobaseHeaders.JobId] = jobId.ToString();
        return outcome.Failure is { } failure
            ? Api.Fail<IReadOnlyList<FlushResult>>(failure)
            : TypedResults.Ok(new ApiResponse<IReadOnlyList<FlushResult>>(outcome.Results, Errno.Success, ""));
    }
}
