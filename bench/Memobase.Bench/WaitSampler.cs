using Npgsql;

namespace Memobase.Bench;

/// <summary>
/// Samples pg_stat_activity every 50 ms while a phase runs: what the active backends of the bench database are doing
/// ("CPU" = no wait event: running, or runnable and waiting for a core). Shows lock and I/O waits versus plain CPU.
/// </summary>
internal sealed class WaitSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Dictionary<string, long> _counts = [];
    private long _samples;

    public WaitSampler(NpgsqlDataSource db) => _loop = Task.Run(() => LoopAsync(db));

    private async Task LoopAsync(NpgsqlDataSource db)
    {
        try
        {
            await using var conn = await db.OpenConnectionAsync(_stop.Token);
            await using var cmd = new NpgsqlCommand("""
                SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
                WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                """, conn);
            while (!_stop.IsCancellationRequested)
            {
                await using (var reader = await cmd.ExecuteReaderAsync(_stop.Token))
                {
                    while (await reader.ReadAsync(_stop.Token))
                    {
                        var key = reader.GetString(0);
                        _counts[key] = _counts.GetValueOrDefault(key) + 1;
                    }
                }
                _samples++;
                await Task.Delay(50, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops sampling; returns "average active backends" per state, most frequent first.</summary>
    public async Task<List<(string State, double AvgBackends)>> StopAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (NpgsqlException)
        {
        }
        var n = Math.Max(1, _samples);
        return _counts.OrderByDescending(kv => kv.Value).Select(kv => (kv.Key, (double)kv.Value / n)).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (NpgsqlException)
        {
        }
        _stop.Dispose();
    }
}
