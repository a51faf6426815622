using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Telemetry;
using Memobase.Server.Processing;

namespace Memobase.Server.Observability;

/// <summary>
/// Queue depth read from the database at a bounded cost: one grouped count every <c>queue_metrics_seconds</c> per
/// process, however often Prometheus scrapes (scrapes read the last snapshot). The counts use the partial indexes of
/// queued and running jobs; failed jobs are counted over the last 24 hours (the status/created_at index), since failed
/// job rows are kept for inspection and would otherwise only grow. At most 1,000 project/status groups are reported.
/// <list type="bullet">
/// <item><c>memobase_flush_jobs{project_id, status}</c>: jobs queued, running, and failed in the last 24 h;</item>
/// <item><c>memobase_flush_oldest_ready_job_seconds</c>: how long the oldest ready queued job has been waiting (0: none).</item>
/// </list>
/// </summary>
public sealed partial class QueueGauges(JobReader jobs, IOptionsMonitor<ObservabilityOptions> options, ILogger<QueueGauges> logger)
    : BackgroundService
{
    // The instruments are process-wide (like the meter); each running server contributes its last snapshot.
    private static readonly ConcurrentDictionary<QueueGauges, byte> Running = new();

    static QueueGauges()
    {
        MemobaseTelemetry.Meter.CreateObservableGauge("memobase_flush_jobs", ObserveCounts,
            description: "Flush jobs by status: queued, running, and failed in the last 24 h (read every queue_metrics_seconds)");
        MemobaseTelemetry.Meter.CreateObservableGauge("memobase_flush_oldest_ready_job_seconds",
            () => Running.Keys.Select(g => g._snapshot.OldestReadySeconds).DefaultIfEmpty(0).Max(),
            description: "Seconds the oldest ready queued job has been waiting for a worker (0: none)");
    }

    private volatile Snapshot _snapshot = new([], 0);

    private static IEnumerable<Measurement<long>> ObserveCounts()
    {
        var totals = new Dictionary<(string, string), long>();
        foreach (var gauges in Running.Keys)
        {
            foreach (var (project, status, count) in gauges._snapshot.Counts) totals[(project, status)] = count;
        }
        foreach (var ((project, status), count) in totals)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>("project_id", project), new KeyValuePair<string, object?>("status", status));
        }
    }

    /// <summary>Reads the counts now (the background loop calls it; tests call it to skip the wait).</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var (counts, seconds) = await jobs.GaugeCountsAsync(ct);
        _snapshot = new Snapshot(counts, Math.Max(0, seconds));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Running.TryAdd(this, 0);
        try
        {
            await RefreshLoopAsync(stoppingToken);
        }
        finally
        {
            Running.TryRemove(this, out _);
        }
    }

    private async Task RefreshLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                LogRefreshFailed(logger, ex.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.CurrentValue.QueueMetricsSeconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private sealed record Snapshot(IReadOnlyList<(string ProjectId, string Status, long Count)> Counts, double OldestReadySeconds);

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "Queue metrics: reading job counts failed: {Error}")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}
