using System.Collections.Concurrent;
using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Projects;

/// <summary>
/// Daily usage counters per project (inserts, successful inserts, LLM input/output tokens), persisted in
/// <c>usage_daily</c>. Increments are summed in memory and upserted every <see cref="FlushInterval"/> so that a burst of
/// inserts does not serialise on one hot row; each replica adds its own deltas, so the totals are exact across
/// replicas. At most one interval of counts is lost if the process is killed.
/// </summary>
public sealed partial class UsageRecorder(NpgsqlDataSource db, TimeProvider clock, ILogger<UsageRecorder> logger) : BackgroundService
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);

    private sealed class Counters
    {
        public long Insert;
        public long SuccessInsert;
        public long InputTokens;
        public long OutputTokens;
    }

    private ConcurrentDictionary<(string Project, DateOnly Day), Counters> _pending = new();
    // Never disposed: the host may call StopAsync (the final flush) after Dispose, and a SemaphoreSlim whose wait
    // handle is never requested holds no unmanaged resource.
    private readonly SemaphoreSlim _flushLock = new(1, 1);

    private Counters For(string projectId) =>
        _pending.GetOrAdd((projectId, DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime)), _ => new Counters());

    public void RecordInsertRequest(string projectId) => Interlocked.Increment(ref For(projectId).Insert);

    public void RecordInsertSuccess(string projectId) => Interlocked.Increment(ref For(projectId).SuccessInsert);

    public void RecordLlmTokens(string projectId, int input, int output)
    {
        if (input == 0 && output == 0) return;
        var c = For(projectId);
        Interlocked.Add(ref c.InputTokens, input);
        Interlocked.Add(ref c.OutputTokens, output);
    }

    /// <summary>Writes this process's pending increments (called periodically, before usage reads, and at shutdown).</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await _flushLock.WaitAsync(ct);
        try
        {
            var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<(string Project, DateOnly Day), Counters>());
            if (batch.IsEmpty) return;
            try
            {
                await using var conn = await db.OpenConnectionAsync(ct);
                await using var cmd = new NpgsqlCommand("""
                    INSERT INTO usage_daily AS u (project_id, day, total_insert, total_success_insert, total_input_token, total_output_token)
                    SELECT p, d, i, s, it, ot FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS x(p, d, i, s, it, ot)
                    WHERE EXISTS (SELECT 1 FROM projects WHERE project_id = x.p)
                    ON CONFLICT (project_id, day) DO UPDATE SET
                        total_insert = u.total_insert + EXCLUDED.total_insert,
                        total_success_insert = u.total_success_insert + EXCLUDED.total_success_insert,
                        total_input_token = u.total_input_token + EXCLUDED.total_input_token,
                        total_output_token = u.total_output_token + EXCLUDED.total_output_token
                    """, conn);
                var rows = batch.ToArray();
                Sql.Add(cmd.Parameters,
                    rows.Select(r => r.Key.Project).ToArray(),
                    rows.Select(r => r.Key.Day).ToArray(),
                    rows.Select(r => Interlocked.Read(ref r.Value.Insert)).ToArray(),
                    rows.Select(r => Interlocked.Read(ref r.Value.SuccessInsert)).ToArray(),
                    rows.Select(r => Interlocked.Read(ref r.Value.InputTokens)).ToArray(),
                    rows.Select(r => Interlocked.Read(ref r.Value.OutputTokens)).ToArray());
                await cmd.ExecuteNonQueryAsync(ct);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
            {
                // Put the counts back so the next flush writes them.
                foreach (var (key, c) in batch)
                {
                    var target = _pending.GetOrAdd(key, _ => new Counters());
                    Interlocked.Add(ref target.Insert, c.Insert);
                    Interlocked.Add(ref target.SuccessInsert, c.SuccessInsert);
                    Interlocked.Add(ref target.InputTokens, c.InputTokens);
                    Interlocked.Add(ref target.OutputTokens, c.OutputTokens);
                }
                if (ex is not OperationCanceledException) LogFlushFailed(logger, ex);
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "Writing usage counters failed; will retry")]
    private static partial void LogFlushFailed(ILogger logger, Exception ex);
}
