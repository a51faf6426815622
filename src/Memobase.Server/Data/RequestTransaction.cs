using Npgsql;

namespace Memobase.Server.Data;

/// <summary>
/// The database transaction a request's writes share (scoped: one per request), as every write through a scoped
/// DbContext joins the transaction begun on it. Whoever begins it (the Idempotency-Key filter) commits it; the feature
/// services that are handed it write through its connection, so their rows commit or roll back together with the
/// caller's. Without a transaction (<see cref="Transaction"/> null, the usual case) each service writes on its own
/// pooled connection.
/// </summary>
/// <remarks>
/// A flush job enqueued inside the transaction is invisible to the workers until the commit, so it cannot be waited
/// for inside it: the flush records it with <see cref="WaitAfterCommit"/> and the owner of the transaction waits for it
/// after committing.
/// </remarks>
public sealed class RequestTransaction
{
    public NpgsqlTransaction? Transaction { get; private set; }

    /// <summary>The flush job whose outcome completes the response, to be waited for after the commit.</summary>
    public Guid? AwaitedJobId { get; private set; }

    public void Begin(NpgsqlTransaction transaction)
    {
        if (Transaction is not null) throw new InvalidOperationException("The request already has a shared transaction");
        Transaction = transaction;
        AwaitedJobId = null;
    }

    public void End() => Transaction = null;

    public void WaitAfterCommit(Guid jobId) => AwaitedJobId = jobId;
}

public static class RequestTransactionExtensions
{
    /// <summary>A command on the shared transaction's connection when there is one, else on a pooled connection of its own.</summary>
    public static NpgsqlCommand CreateCommand(this NpgsqlDataSource db, string sql, RequestTransaction? shared)
        => shared?.Transaction is { } tx ? new NpgsqlCommand(sql, tx.Connection, tx) : db.CreateCommand(sql);
}
