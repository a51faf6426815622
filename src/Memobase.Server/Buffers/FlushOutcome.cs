using Memobase.Server.Infrastructure;

namespace Memobase.Server.Buffers;

/// <param name="Results">Upstream's flush <c>data</c>: <c>[]</c> nothing to do, <c>null</c> scheduled, one result when waited for.</param>
/// <param name="JobId">The job that has the buffer's entries (sent as <c>X-Memobase-Job-Id</c>), when there is one.</param>
public sealed record FlushOutcome(IReadOnlyList<FlushResult>? Results, Failure? Failure, Guid? JobId = null)
{
    public static readonly FlushOutcome Nothing = new([], null);
    public static readonly FlushOutcome Scheduled = new(null, null);
}
