using System.Text.Json;
using System.Text.Json.Serialization;
using Memobase.Server.Blobs;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Processing;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Memobase.Server.Admin;

/// <summary>
/// Memind's <c>ConversationBufferView</c>: one buffered chat message. Our buffer holds blobs of several messages, so
/// the view id is <c>entry_seq × 10000 + message_index</c> (a chat blob holds at most 10000 messages).
/// </summary>
public sealed record ConversationBufferView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("sessionId")] string SessionId,
    [property: JsonPropertyName("userId")] string UserId,
    [property: JsonPropertyName("agentId")] string AgentId,
    [property: JsonPropertyName("memoryId")] string MemoryId,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("userName")] string? UserName,
    [property: JsonPropertyName("sourceClient")] string? SourceClient,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("extracted")] bool Extracted,
    [property: JsonPropertyName("createdAt")] DateTime CreatedAt,
    [property: JsonPropertyName("updatedAt")] DateTime UpdatedAt);

public sealed record ConversationPage(IReadOnlyList<ConversationBufferView> Items, long Total, int Page, int PageSize);

public sealed record JobSummary(
    Guid Id, string ProjectId, Guid UserId, string BlobType, string Status, string Trigger, int Attempts, int MaxAttempts,
    int EntryCount, string? LastError, int? LastErrno, Guid? MergedInto, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

public sealed record JobAttemptView(int Attempt, string Worker, string Outcome, string? Error, int LlmCalls, int PromptTokens, int CompletionTokens,
    DateTime StartedAt, DateTime? FinishedAt);

public sealed record JobDetail(
    JobSummary Job, int TruncatedCount, int LlmCalls, int PromptTokens, int CompletionTokens, int? LlmMs, int? ProcessingMs,
    string? LeaseOwner, DateTime? LeaseExpiresAt, DateTime RunAfter, JsonElement? Result, IReadOnlyDictionary<string, int> EntriesByStatus,
    IReadOnlyList<JobAttemptView> Attempts);

public sealed record JobPage(IReadOnlyList<JobSummary> Jobs, long Total);

/// <summary>Operator views of buffers and flush jobs (root token only; /admin is root-only in the auth middleware).</summary>
public static class AdminBuffersApi
{
    public const long MessagesPerEntry = 10_000;
    private static readonly string[] States = ["pending", "extracted"];

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
            .WithDescription("Buffered chat messages, newest first, filtered by user_id and state (pending = not yet extracted, extracted = done).")
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

    private const string ViewSelect = """
        SELECT e.seq, e.id, e.project_id, e.user_id, e.blob_id, e.status, e.created_at, e.updated_at,
               b.blob_data::text, b.created_at, b.additional_fields ->> 'source_client'
        FROM buffer_entries e JOIN blobs b ON b.project_id = e.project_id AND b.id = e.blob_id
        """;

    public static async Task<Ok<ApiResponse<ConversationBufferView>>> GetConversationBuffer(long id, NpgsqlDataSource db, CancellationToken ct)
    {
        var seq = id / MessagesPerEntry;
        var index = (int)(id % MessagesPerEntry);
        await using var cmd = db.CreateCommand($"{ViewSelect}\nWHERE e.seq = $1 AND e.blob_type = 'chat'");
        cmd.Parameters.Add(new NpgsqlParameter { Value = seq });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            var views = ReadViews(reader);
            if (index < views.Count) return Api.Ok(views[index]);
        }
        return Api.Fail<ConversationBufferView>(Failure.NotFound($"Conversation buffer {id} not found"));
    }

    public static async Task<Results<Ok<ApiResponse<ConversationPage>>, UnprocessableEntity<HttpValidationError>>> ListConversationBuffers(
        NpgsqlDataSource db, CancellationToken ct, string? user_id = null, string? state = null, int page = 0, int page_size = 50)
    {
        if (!TryParseUserFilter(user_id, out var user)) return Validation.Problem([Validation.InvalidUuid("query", "user_id", user_id)]);
        if (state is not null && Array.IndexOf(States, state) < 0) return Validation.Problem([Validation.InvalidEnum("query", "state", state, States)]);
        if (page < 0) return Validation.Problem(["query", "page"], "Input should be greater than or equal to 0", "greater_than_equal", page);
        if (page_size is < 1 or > 500) return Validation.Problem(["query", "page_size"], "Input should be between 1 and 500", "less_than_equal", page_size);

        // Paging is by buffer entry; every entry expands into its messages.
        const string filter = """
            WHERE e.blob_type = 'chat' AND ($1::uuid IS NULL OR e.user_id = $1)
              AND ($2::text IS NULL OR ($2 = 'extracted') = (e.status = 'done'))
            """;
        await using var conn = await db.OpenConnectionAsync(ct);
        var items = new List<ConversationBufferView>();
        await using (var cmd = new NpgsqlCommand($"{ViewSelect}\n{filter}\nORDER BY e.seq DESC LIMIT $3 OFFSET $4", conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)user ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)state ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = page_size });
            cmd.Parameters.Add(new NpgsqlParameter { Value = page * page_size });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) items.AddRange(ReadViews(reader));
        }
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM buffer_entries e\n{filter}", conn);
        count.Parameters.Add(new NpgsqlParameter { Value = (object?)user ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        count.Parameters.Add(new NpgsqlParameter { Value = (object?)state ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var total = (long)(await count.ExecuteScalarAsync(ct))!;
        return Api.Ok(new ConversationPage(items, total, page, page_size));
    }

    /// <summary>The optional <c>user_id</c> query filter: absent → null; otherwise it must be a UUID v4/v5.</summary>
    private static bool TryParseUserFilter(string? userId, out Guid? user)
    {
        user = null;
        if (userId is null) return true;
        if (!Validation.TryParseUuid45(userId, out var id)) return false;
        user = id;
        return true;
    }

    private static List<ConversationBufferView> ReadViews(NpgsqlDataReader reader)
    {
        var seq = reader.GetInt64(0);
        var content = BlobParser.FromStored(BlobTypes.Chat, reader.GetString(8)) as ChatContent;
        var blobCreated = new DateTimeOffset(reader.GetDateTime(9), TimeSpan.Zero);
        var views = new List<ConversationBufferView>();
        if (content is null) return views;
        for (var i = 0; i < content.Messages.Count && i < MessagesPerEntry; i++)
        {
            var m = content.Messages[i];
            var timestamp = Timestamps.TryParse(m.CreatedAt, out var at) ? at : blobCreated;
            views.Add(new ConversationBufferView(
                seq * MessagesPerEntry + i,
                SessionId: reader.GetGuid(4).ToString(),
                UserId: reader.GetGuid(3).ToString(),
                AgentId: reader.GetString(2),
                MemoryId: reader.GetGuid(1).ToString(),
                Role: m.Role,
                Content: m.Content,
                UserName: m.Alias,
                SourceClient: reader.IsDBNull(10) ? null : reader.GetString(10),
                Timestamp: timestamp,
                Extracted: reader.GetString(5) == BufferStatus.Done,
                CreatedAt: reader.GetDateTime(6),
                UpdatedAt: reader.GetDateTime(7)));
        }
        return views;
    }

    private const string JobColumns = """
        id, project_id, user_id, blob_type, status, trigger, attempts, max_attempts, entry_count, last_error, last_errno, merged_into,
        created_at, started_at, finished_at
        """;

    private static JobSummary ReadJob(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetGuid(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6), r.GetInt32(7), r.GetInt32(8),
        r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetInt32(10), r.IsDBNull(11) ? null : r.GetGuid(11),
        r.GetDateTime(12), r.IsDBNull(13) ? null : r.GetDateTime(13), r.IsDBNull(14) ? null : r.GetDateTime(14));

    public static async Task<Results<Ok<ApiResponse<JobPage>>, UnprocessableEntity<HttpValidationError>>> ListJobs(
        NpgsqlDataSource db, CancellationToken ct, string? status = null, string? user_id = null, int limit = 50, int offset = 0)
    {
        if (status is not null && Array.IndexOf(JobStatus.All, status) < 0) return Validation.Problem([Validation.InvalidEnum("query", "status", status, JobStatus.All)]);
        if (!TryParseUserFilter(user_id, out var user)) return Validation.Problem([Validation.InvalidUuid("query", "user_id", user_id)]);
        if (limit is < 1 or > 1000) return Validation.Problem(["query", "limit"], "Input should be between 1 and 1000", "less_than_equal", limit);
        if (offset < 0) return Validation.Problem(["query", "offset"], "Input should be greater than or equal to 0", "greater_than_equal", offset);

        const string filter = " WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR user_id = $2)";
        await using var conn = await db.OpenConnectionAsync(ct);
        var jobs = new List<JobSummary>();
        await using (var cmd = new NpgsqlCommand($"SELECT {JobColumns} FROM flush_jobs{filter} ORDER BY created_at DESC LIMIT $3 OFFSET $4", conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)user ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
            cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
            cmd.Parameters.Add(new NpgsqlParameter { Value = offset });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) jobs.Add(ReadJob(reader));
        }
        await using var count = new NpgsqlCommand("SELECT count(*) FROM flush_jobs" + filter, conn);
        count.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        count.Parameters.Add(new NpgsqlParameter { Value = (object?)user ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        return Api.Ok(new JobPage(jobs, (long)(await count.ExecuteScalarAsync(ct))!));
    }

    public static async Task<Ok<ApiResponse<JobDetail>>> GetJob(Guid job_id, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        JobDetail? detail = null;
        await using (var cmd = new NpgsqlCommand($"""
            SELECT {JobColumns}, truncated_count, llm_calls, prompt_tokens, completion_tokens, llm_ms, processing_ms,
                   lease_owner, lease_expires_at, run_after, result::text
            FROM flush_jobs WHERE id = $1
            """, conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = job_id });
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (await r.ReadAsync(ct))
            {
                detail = new JobDetail(ReadJob(r), r.GetInt32(15), r.GetInt32(16), r.GetInt32(17), r.GetInt32(18),
                    r.IsDBNull(19) ? null : r.GetInt32(19), r.IsDBNull(20) ? null : r.GetInt32(20),
                    r.IsDBNull(21) ? null : r.GetString(21), r.IsDBNull(22) ? null : r.GetDateTime(22), r.GetDateTime(23),
                    Json.Raw(r.IsDBNull(24) ? null : r.GetString(24)), new Dictionary<string, int>(), []);
            }
        }
        if (detail is null) return Api.Fail<JobDetail>(Failure.NotFound($"Flush job {job_id} not found"));

        var entries = new Dictionary<string, int>();
        await using (var cmd = new NpgsqlCommand("SELECT status, count(*)::int FROM buffer_entries WHERE job_id = $1 GROUP BY status", conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = job_id });
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) entries[r.GetString(0)] = r.GetInt32(1);
        }
        var attempts = new List<JobAttemptView>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT attempt, worker, outcome, error, llm_calls, prompt_tokens, completion_tokens, started_at, finished_at
            FROM flush_job_attempts WHERE job_id = $1 ORDER BY attempt
            """, conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = job_id });
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                attempts.Add(new JobAttemptView(r.GetInt32(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                    r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetDateTime(7), r.IsDBNull(8) ? null : r.GetDateTime(8)));
            }
        }
        return Api.Ok(detail with { EntriesByStatus = entries, Attempts = attempts });
    }

    public static async Task<Ok<ApiResponse<JobSummary>>> RetryJob(Guid job_id, JobQueue queue, FlushSignal signal, NpgsqlDataSource db, CancellationToken ct)
    {
        var failure = await queue.RetryFailedAsync(job_id, ct);
        if (failure is not null) return Api.Fail<JobSummary>(failure);
        signal.Wake();
        await using var cmd = db.CreateCommand($"SELECT {JobColumns} FROM flush_jobs WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = job_id });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return Api.Ok(ReadJob(r));
    }
}
