using Memobase.Server.Llm;
using Memobase.Server.Profiles;
using Memobase.Server.Buffers;
using Memobase.Server.Events;

namespace Memobase.Server.Processing;

// The contract between the durable job runner (JobQueue/FlushWorker, which owns the database transactions) and the
// LLM pipeline (BufferPipeline, which owns prompts and parsing and never writes to the database).

public sealed record PipelineInput(
    string ProjectId,
    Guid UserId,
    string BlobType,
    IReadOnlyList<BufferedBlob> Blobs,
    /// <summary>The project's raw profile_config YAML (null or empty: none).</summary>
    string? ProjectProfileConfig,
    IReadOnlyList<ExistingProfile> Profiles);

/// <summary>Everything one run decided. The job runner applies it in the transaction that marks the entries done.</summary>
public sealed record PipelineResult(
    IReadOnlyList<ProfileAdd> Adds,
    IReadOnlyList<ProfileUpdate> Updates,
    IReadOnlyList<Guid> Deletes,
    EventPlan? Event,
    int TruncatedCount,
    LlmUsage Usage);

/// <summary>
/// A failed run. <see cref="Retryable"/> failures (LLM unreachable, HTTP 5xx, timeouts, LLM not configured) are retried
/// with backoff by the job runner; others (e.g. nothing left after truncation) fail the job at once.
/// <see cref="Errno"/> is what a waiting caller sees: 503 LLM failure, 520 processing/parse failure, 500 other.
/// </summary>
public sealed class PipelineException(int errno, string message, bool retryable, LlmUsage? usage = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int Errno { get; } = errno;
    public bool Retryable { get; } = retryable;
    public LlmUsage Usage { get; } = usage ?? LlmUsage.None;

    /// <summary>
    /// Set when the provider kept answering 429 past <c>llm_rate_limit_max_wait_seconds</c>: the job goes back to the
    /// queue after this long without spending an attempt (a rate limit is not a failure of the job).
    /// </summary>
    public TimeSpan? RateLimitedFor { get; init; }
}
