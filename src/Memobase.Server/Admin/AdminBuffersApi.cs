using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Processing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Memobase.Server.Admin;

/// <summary>Body of Memind's mark-extracted and delete calls: the conversation view ids.</summary>
public sealed record ConversationIdsRequest(IReadOnlyList<long>? Ids);

/// <summary>Memind's <c>AdminUpdateResult</c>.</summary>
public sealed record ConversationUpdateResult(
    [property: JsonPropertyName("updatedCount")] int UpdatedCount,
    [property: JsonPropertyName("affectedMemoryIds")] IReadOnlyList<string> AffectedMemoryIds);

/// <summary>Memind's <c>BatchDeleteResult</c>.</summary>
public sealed record ConversationDeleteResult(
    [property: JsonPropertyName("deletedCount")] int DeletedCount,
    [property: JsonPropertyName("affectedMemoryIds")] IReadOnlyList<string> AffectedMemoryIds);

/// <summary>Operator views of buffers and flush jobs (root token only: mapped under the root policy).</summary>
public static class AdminBuffersApi
{
    /// <summary>Most ids one mark-extracted or delete call takes.</summary>
    public const int MaxIds = 1000;

    public static RouteGroupBuilder MapAdminBuffers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/v1").WithTags("admin");
        group.MapGet("/buffers/conversations/{id:long}", GetConversationBuffer)
            .WithName("getConversationBuffer")
            .WithSummary("Get Conversation Buffer")
            .WithDescription("One buffered chat message as Memind's ConversationBufferView. Processed chat messages are only kept " +
                             "(extracted=true) when persistent_chat_blobs is on.");
        group.MapGet("/buffers/conversations", ListConversationBuffers)
            .WithName("listConversationBuffers")
            .WithSummary("List Conversation Buffers")
            .WithDescription("Buffered chat messages as Memind's page object {total, list, current}, newest entry first, filtered by " +
                             "memoryId (user id), sessionId (chat blob id) and state (pending|extracted|all).")
            .ProducesValidationProblem422();
        group.MapPatch("/buffers/conversations/extracted", MarkConversationsExtracted)
            .WithName("markConversationsExtracted")
            .WithSummary("Mark Conversation Buffers Extracted")
            .WithDescription("Marks the pending (idle or failed) buffer entries holding these message ids as done without processing them.")
            .ProducesValidationProblem422();
        group.MapDelete("/buffers/conversations", DeleteConversationBuffers)
            .WithName("deleteConversationBuffers")
            .WithSummary("Delete Conversation Buffers")
            .WithDescription("Deletes the chat blobs (and their buffer entries) holding these message ids, except entries a flush job holds.")
            .ProducesValidationProblem422();
        group.MapGet("/jobs", ListJobs)
            .WithName("listFlushJobs")
            .WithSummary("List Flush Jobs")
            .WithDescription("Flush jobs, newest first, optionally filtered by status (queued|running|done|failed|merged) and user_id.")
            .ProducesValidationProblem422();
        group.MapGet("/jobs/{job_id:guid}", GetJob)
            .WithName("getFlushJob")
            .WithSummary("Get Flush Job")
            .WithDescription("One job with its attempts, errors, LLM calls and tokens, truncation count and timings.");
        group.MapPost("/jobs/{job_id:guid}/retry", RetryJob)
            .WithName("retryFlushJob")
            .WithSummary("Retry Failed Flush Job")
            .WithDescription("Put a failed job's failed entries back in the queue with a fresh attempt budget.");
        return group;
    }

    public static async Task<Ok<ApiResponse<ConversationBufferView>>> GetConversationBuffer(long id, ConversationBuffers buffers, CancellationToken ct)
        => await buffers.GetAsync(null, id, ct) is { } view
            ? Api.Ok(view)
            : Api.Fail<ConversationBufferView>(Failure.NotFound($"Conversation buffer {id} not found"));

    /// <param name="pageNo">Memind's 1-based page number; <paramref name="page"/> is accepted as a synonym.</param>
    public static async Task<Results<Ok<ApiResponse<ConversationPage>>, UnprocessableEntity<HttpValidationError>>> ListConversationBuffers(
        ConversationBuffers buffers, CancellationToken ct, [Range(1, 1_000_000)] int? pageNo = null, [Range(1, 1_000_000)] int? page = null, int pageSize = 20,
        string? memoryId = null, string? sessionId = null, string state = ConversationBuffers.Pending)
    {
        var number = pageNo ?? page ?? 1;
        if (number < 1) return Validation.Problem(["query", pageNo is null ? "page" : "pageNo"], "Input should be greater than or equal to 1", "greater_than_equal", number);
        if (pageSize is < 1 or > 100) return Validation.Problem(["query", "pageSize"], "Input should be between 1 and 100", "less_than_equal", pageSize);
        if (!TryParseUuidFilter(memoryId, out var user)) return Validation.Problem([Validation.InvalidUuid("query", "memoryId", memoryId)]);
        if (!TryParseUuidFilter(sessionId, out var blob)) return Validation.Problem([Validation.InvalidUuid("query", "sessionId", sessionId)]);
        if (Array.IndexOf(ConversationBuffers.States, state) < 0)
        {
            return Validation.Problem([Validation.InvalidEnum("query", "state", state, ConversationBuffers.States)]);
        }
        return Api.Ok(await buffers.ListAsync(new ConversationQuery(null, user, blob, state, number, pageSize), ct));
    }

    public static async Task<Results<Ok<ApiResponse<ConversationUpdateResult>>, UnprocessableEntity<HttpValidationError>>> MarkConversationsExtracted(
        ConversationIdsRequest body, ConversationBuffers buffers, CancellationToken ct)
    {
        if (ValidateIds(body) is { } invalid) return invalid;
        var change = await buffers.MarkExtractedAsync(null, body.Ids!, ct);
        return Api.Ok(new ConversationUpdateResult(change.Messages, change.UserIds));
    }

    public static async Task<Results<Ok<ApiResponse<ConversationDeleteResult>>, UnprocessableEntity<HttpValidationError>>> DeleteConversationBuffers(
        [FromBody] ConversationIdsRequest body, ConversationBuffers buffers, CancellationToken ct)
    {
        if (ValidateIds(body) is { } invalid) return invalid;
        var change = await buffers.DeleteAsync(null, body.Ids!, ct);
        return Api.Ok(new ConversationDeleteResult(change.Messages, change.UserIds));
    }

    private static UnprocessableEntity<HttpValidationError>? ValidateIds(ConversationIdsRequest body)
    {
        if (body.Ids is null) return Validation.Problem([Validation.Missing("body", "ids")]);
        if (body.Ids.Count == 0) return Validation.Problem(["body", "ids"], "List should have at least 1 item after validation, not 0", "too_short");
        if (body.Ids.Count > MaxIds)
        {
            return Validation.Problem(["body", "ids"], $"List should have at most {MaxIds} items after validation, not {body.Ids.Count}", "too_long");
        }
        var negative = body.Ids.Select((id, i) => (id, i)).FirstOrDefault(x => x.id < 0);
        return negative.id < 0
            ? Validation.Problem(["body", "ids", negative.i], "Input should be greater than or equal to 0", "greater_than_equal", negative.id)
            : null;
    }

    /// <summary>An optional UUID query filter: absent → null; otherwise it must be a UUID v4/v5.</summary>
    private static bool TryParseUuidFilter(string? text, out Guid? value)
    {
        value = null;
        if (text is null) return true;
        if (!Validation.TryParseUuid45(text, out var id)) return false;
        value = id;
        return true;
    }

    public static async Task<Results<Ok<ApiResponse<JobPage>>, UnprocessableEntity<HttpValidationError>>> ListJobs(
        JobReader jobs, CancellationToken ct, string? status = null, string? user_id = null, int limit = 50, int offset = 0)
    {
        if (status is not null && Array.IndexOf(JobStatus.All, status) < 0) return Validation.Problem([Validation.InvalidEnum("query", "status", status, JobStatus.All)]);
        if (!TryParseUuidFilter(user_id, out var user)) return Validation.Problem([Validation.InvalidUuid("query", "user_id", user_id)]);
        if (limit is < 1 or > 1000) return Validation.Problem(["query", "limit"], "Input should be between 1 and 1000", "less_than_equal", limit);
        if (offset < 0) return Validation.Problem(["query", "offset"], "Input should be greater than or equal to 0", "greater_than_equal", offset);
        return Api.Ok(await jobs.ListAsync(null, status, user, limit, offset, ct));
    }

    public static async Task<Ok<ApiResponse<JobDetail>>> GetJob(Guid job_id, JobReader jobs, CancellationToken ct)
        => await jobs.GetAsync(null, job_id, ct) is { } detail
            ? Api.Ok(detail)
            : Api.Fail<JobDetail>(Failure.NotFound($"Flush job {job_id} not found"));

    public static async Task<Ok<ApiResponse<JobSummary>>> RetryJob(Guid job_id, JobQueue queue, JobReader jobs, FlushSignal signal, CancellationToken ct)
    {
        var failure = await queue.RetryFailedAsync(job_id, ct);
        if (failure is not null) return Api.Fail<JobSummary>(failure);
        signal.Wake();
        return Api.Ok((await jobs.GetSummaryAsync(null, job_id, ct))!);
    }
}
