using Memobase.Server.Infrastructure;

namespace Memobase.Server.Idempotency;

/// <summary>What a waited-for flush job ended with: its results (serialised into the response's data) or its failure.</summary>
public sealed record AwaitedFlush(object? Results, Failure? Failure);

/// <summary>
/// Waits for a flush job an idempotent response depends on (a <c>wait_process=true</c> write answered after the job).
/// Implemented by Processing, which owns the jobs; Idempotency sits below it and does not depend on it.
/// </summary>
public interface IFlushJobAwaiter
{
    Task<AwaitedFlush> WaitForJobAsync(Guid jobId, string projectId, CancellationToken ct);
}
