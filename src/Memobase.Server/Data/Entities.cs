using System.Collections;

namespace Memobase.Server.Data;

// Row types. JSON columns are kept as raw JSON text (jsonb in PostgreSQL) and parsed at the edges.

public sealed class Project
{
    public required string ProjectId { get; set; }
    /// <summary>SHA-256 (hex) of the project's bearer token; "__root__" for the root project.</summary>
    public required string ProjectSecret { get; set; }
    public string? ProfileConfig { get; set; }
    public string Status { get; set; } = ProjectStatus.Active;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class ProjectStatus
{
    public const string Active = "active";
    public const string Pro = "pro";
    public const string Ultra = "ultra";
    public const string Suspended = "suspended";
    public static readonly string[] All = [Active, Pro, Ultra, Suspended];
}

public sealed class User
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    public string? AdditionalFields { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class Blob
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string BlobType { get; set; }
    public required string BlobData { get; set; }
    public string? AdditionalFields { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class BufferEntry
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    /// <summary>Monotonic 64-bit id (the Memind ConversationBufferView id).</summary>
    public long Seq { get; set; }
    public Guid UserId { get; set; }
    public Guid BlobId { get; set; }
    public required string BlobType { get; set; }
    public int TokenSize { get; set; }
    public string Status { get; set; } = BufferStatus.Idle;
    public Guid? JobId { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ProcessedAt { get; set; }
}

public static class BufferStatus
{
    public const string Idle = "idle";
    public const string Processing = "processing";
    public const string Done = "done";
    public const string Failed = "failed";
    public static readonly string[] All = [Idle, Processing, Failed, Done];
}

public sealed class FlushJob
{
    public Guid Id { get; set; }
    public required string ProjectId { get; set; }
    public Guid UserId { get; set; }
    public required string BlobType { get; set; }
    public required string Status { get; set; }
    public required string Trigger { get; set; }
    public int Attempts { get; set; }
    public int MaxAttempts { get; set; }
    public DateTime RunAfter { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseExpiresAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>The errno a waiting caller gets when the job failed (503 LLM, 520 processing, 500 other).</summary>
    public int? LastErrno { get; set; }
    public Guid? MergedInto { get; set; }
    public int EntryCount { get; set; }
    public int TruncatedCount { get; set; }
    public int LlmCalls { get; set; }
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    public int? LlmMs { get; set; }
    public int? ProcessingMs { get; set; }
    public string? Result { get; set; }
    /// <summary>W3C trace context (<c>traceparent</c>) of the request that queued the job: its spans continue that trace.</summary>
    public string? TraceParent { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

public static class JobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
    /// <summary>Folded into another queued job of the same buffer (see <see cref="FlushJob.MergedInto"/>).</summary>
    public const string Merged = "merged";
    public static readonly string[] All = [Queued, Running, Done, Failed, Merged];
}

public sealed class FlushJobAttempt
{
    public Guid JobId { get; set; }
    public int Attempt { get; set; }
    public required string Worker { get; set; }
    public required string Outcome { get; set; }
    public string? Error { get; set; }
    public int LlmCalls { get; set; }
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    /// <summary>The attempt's LLM and embedding calls (jsonb list of <c>Observability.LlmCallRecord</c>); null when it made none.</summary>
    public string? LlmCallLog { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

public sealed class UserProfile
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string Content { get; set; }
    public string? Attributes { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class UserEvent
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string EventData { get; set; }
    public float[]? Embedding { get; set; }
    /// <summary>Sign bits of <see cref="Embedding"/>, the first stage of vector search (<c>Events.SignCode</c>).</summary>
    public BitArray? EmbeddingBits { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class UserEventGist
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public Guid EventId { get; set; }
    public required string GistData { get; set; }
    public float[]? Embedding { get; set; }
    /// <summary>Sign bits of <see cref="Embedding"/>, the first stage of vector search (<c>Events.SignCode</c>).</summary>
    public BitArray? EmbeddingBits { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class UsageDaily
{
    public required string ProjectId { get; set; }
    public DateOnly Day { get; set; }
    public long TotalInsert { get; set; }
    public long TotalSuccessInsert { get; set; }
    public long TotalInputToken { get; set; }
    public long TotalOutputToken { get; set; }
}

/// <summary>A request made with an <c>Idempotency-Key</c> header (Idempotency/): its response, replayed to retries.</summary>
public sealed class IdempotencyKey
{
    public required string ProjectId { get; set; }
    public required string Key { get; set; }
    /// <summary>SHA-256 (hex) of the method, the path with its query string, and the body.</summary>
    public required string RequestHash { get; set; }
    /// <summary><see cref="IdempotencyKeyStatus"/>.</summary>
    public required string Status { get; set; }
    public int ResponseStatus { get; set; }
    /// <summary>The response body (the envelope) as sent; while awaiting a flush, the response before the flush's outcome.</summary>
    public required string ResponseBody { get; set; }
    /// <summary>The <c>X-Memobase-Job-Id</c> of the response; with status awaiting_flush, the job whose outcome completes it.</summary>
    public Guid? JobId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
}

public static class IdempotencyKeyStatus
{
    public const string Completed = "completed";
    /// <summary>The write committed; the response waits for the outcome of the flush job (wait_process=true).</summary>
    public const string AwaitingFlush = "awaiting_flush";
}

/// <summary>
/// The LLM budget shared by all replicas (<c>Llm.LlmBudget</c>): token buckets of requests and tokens, refilled from
/// <see cref="UpdatedAt"/> at the configured per-minute rates on every take.
/// </summary>
public sealed class LlmBudgetBucket
{
    public required string Name { get; set; }
    public double Requests { get; set; }
    public double Tokens { get; set; }
    public DateTime UpdatedAt { get; set; }
}
