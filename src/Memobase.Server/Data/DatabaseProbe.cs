using Npgsql;

namespace Memobase.Server.Data;

/// <summary>Whether the database answers a trivial query in time: the health check, the readiness probe and status_check.</summary>
public static class DatabaseProbe
{
    /// <returns>Null when the database answered within <paramref name="timeout"/>; otherwise why not.</returns>
    public static async Task<string?> CheckAsync(NpgsqlDataSource db, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            await using var cmd = db.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(limit.Token);
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            return ct.IsCancellationRequested ? "request aborted"
                : "unavailable: " + (ex is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : ex.Message);
        }
    }
}
