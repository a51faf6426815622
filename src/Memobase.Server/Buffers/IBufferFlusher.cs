using Memobase.Server.Data;

namespace Memobase.Server.Buffers;

/// <summary>
/// Flushes a user's buffer: queues its idle entries as one job and, when asked, waits for the result. Implemented by
/// Processing (the job queue and its workers); the features that trigger flushes (blob insert, the flush endpoint,
/// profile import, MCP, Idempotency-Key replays) depend on this contract, not on Processing.
/// </summary>
public interface IBufferFlusher
{
    /// <summary>
    /// Queues the buffer's idle entries of <paramref name="blobType"/> as one job (<paramref name="trigger"/> is a
    /// <see cref="FlushTrigger"/> value). With <paramref name="wait"/>, waits for the job; inside
    /// <paramref name="shared"/> the job is queued in that transaction and the wait is left to its owner, after commit.
    /// </summary>
    Task<FlushOutcome> FlushAsync(string projectId, Guid userId, string blobType, string trigger, bool wait, RequestTransaction? shared,
        CancellationToken ct);

    Task<FlushOutcome> FlushAsync(string projectId, Guid userId, string blobType, string trigger, bool wait, CancellationToken ct)
        => FlushAsync(projectId, userId, blobType, trigger, wait, null, ct);

    /// <summary>Waits for a job until it is done or failed (following merges), or the wait timeout passes.</summary>
    Task<FlushOutcome> WaitAsync(Guid jobId, string projectId, CancellationToken ct);
}
