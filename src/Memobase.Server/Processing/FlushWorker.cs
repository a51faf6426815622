using System.Diagnostics;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Observability;
using Memobase.Server.Projects;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Memobase.Server.Processing;

/// <summary>
/// The hosted worker: <see cref="WorkerOptions.Concurrency"/> loops claim jobs from PostgreSQL and run them through the
/// LLM pipeline; one maintenance loop reclaims expired leases and starts idle-time flushes; one listener turns
/// NOTIFYs from any replica into local wake-ups. Safe to run in any number of processes against one database.
/// </summary>
public sealed partial class FlushWorker(
    JobQueue queue,
    FlushCoordinator flushes,
    FlushSignal signal,
    BufferPipeline pipeline,
    UsageRecorder usage,
    DedicatedConnections dedicated,
    IOptionsMonitor<WorkerOptions> options,
    IOptionsMonitor<BufferOptions> bufferOptions,
    ILogger<FlushWorker> logger) : BackgroundService
{
    /// <summary>Identifies this process's leases: host, pid and a random suffix (a restarted process never reuses it).</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.CurrentValue;
        if (!o.Enabled)
        {
            LogDisabled(logger);
            return Task.CompletedTask;
        }
        LogStarted(logger, WorkerId, o.Concurrency);
        IsRunning = true;
        var loops = Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(() => WorkLoopAsync(stoppingToken), stoppingToken)).ToList();
        loops.Add(Task.Run(() => MaintenanceLoopAsync(stoppingToken), stoppingToken));
        loops.Add(Task.Run(() => ListenLoopAsync(stoppingToken), stoppingToken));
        return Task.WhenAll(loops);
    }

    /// <summary>True once the loops started (false when <c>worker_enabled=false</c>).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>When the maintenance loop last finished a round (<see cref="Stopwatch"/> timestamp); readiness checks it.</summary>
    public long LastMaintenanceTick => Interlocked.Read(ref _lastMaintenanceTick);

    private long _lastMaintenanceTick = Stopwatch.GetTimestamp();

    private async Task WorkLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var claimStarted = DateTimeOffset.UtcNow;
                var job = await queue.ClaimAsync(WorkerId, stop);
                if (job is null)
                {
                    await signal.WaitAsync(TimeSpan.FromSeconds(options.CurrentValue.PollSeconds), stop);
                    continue;
                }
                signal.Wake(); // there may be more: let another loop look
                await RunAsync(job, stop, claimStarted);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopError(logger, ex);
                await Delay(TimeSpan.FromSeconds(1), stop);
            }
        }
    }

    /// <summary>Runs one claimed job to completion, failure or lease loss.</summary>
    internal async Task RunAsync(ClaimedJob job, CancellationToken stop, DateTimeOffset? claimStarted = null)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = JobTelemetry.StartJob(job, claimStarted ?? DateTimeOffset.UtcNow);
        var calls = new LlmCallLog();
        using var scope = LlmCallContext.ForProject(job.ProjectId, calls);
        using var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var heartbeat = HeartbeatAsync(job, leaseLost);
        var outcome = JobTelemetry.LeaseLost;
        try
        {
            var input = await queue.LoadInputAsync(job, leaseLost.Token);
            var run = input.Blobs.Count == 0
                ? new PipelineResult([], [], [], null, 0, LlmUsage.None)
                : await pipeline.RunAsync(input, leaseLost.Token);
            var result = new FlushResult(run.Event?.Id, run.Adds.Select(a => a.Id).ToList(), run.Updates.Select(u => u.Id).ToList(), run.Deletes);
            var deleteBlobs = job.BlobType == BlobTypes.Chat && !bufferOptions.CurrentValue.PersistentChatBlobs;
            var ms = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            bool completed;
            using (JobTelemetry.StartStep("flush_job complete"))
            {
                completed = await queue.CompleteAsync(job, WorkerId, run, result, deleteBlobs, ms, calls.Snapshot(), CancellationToken.None);
            }
            usage.RecordLlmTokens(job.ProjectId, run.Usage.PromptTokens, run.Usage.CompletionTokens);
            if (completed)
            {
                outcome = JobStatus.Done;
                LogCompleted(logger, job.Id, job.Attempt, input.Blobs.Count, run.Usage.Calls, ms);
            }
            else LogLeaseLost(logger, job.Id, job.Attempt);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down: hand the job back without spending an attempt.
            outcome = JobTelemetry.Released;
            await queue.FailAttemptAsync(job, WorkerId, Errno.ServiceUnavailable, "worker shut down before finishing", retryable: true,
                LlmUsage.None, countAttempt: false, calls.Snapshot(), CancellationToken.None);
        }
        catch (OperationCanceledException) when (leaseLost.IsCancellationRequested)
        {
            LogLeaseLost(logger, job.Id, job.Attempt);
        }
        catch (PipelineException ex)
        {
            usage.RecordLlmTokens(job.ProjectId, ex.Usage.PromptTokens, ex.Usage.CompletionTokens);
            var status = await queue.FailAttemptAsync(job, WorkerId, ex.Errno, ex.Message, ex.Retryable, ex.Usage, countAttempt: true,
                calls.Snapshot(), CancellationToken.None);
            outcome = JobTelemetry.OutcomeOf(status);
            JobTelemetry.Failed(activity, ex.Errno, ex.Message);
            LogAttemptFailed(logger, job.Id, job.Attempt, ex.Errno, ex.Message, status ?? "lease lost");
        }
        catch (Exception ex)
        {
            var status = await queue.FailAttemptAsync(job, WorkerId, Errno.InternalServerError, $"processing error: {ex.Message}", retryable: true,
                LlmUsage.None, countAttempt: true, calls.Snapshot(), CancellationToken.None);
            outcome = JobTelemetry.OutcomeOf(status);
            JobTelemetry.Failed(activity, Errno.InternalServerError, ex.GetType().Name);
            LogAttemptCrashed(logger, ex, job.Id, job.Attempt, status ?? "lease lost");
        }
        finally
        {
            await leaseLost.CancelAsync();
            try { await heartbeat; } catch (OperationCanceledException) { }
            JobTelemetry.AttemptEnded(job, activity, outcome, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task HeartbeatAsync(ClaimedJob job, CancellationTokenSource processing)
    {
        var every = TimeSpan.FromSeconds(options.CurrentValue.LeaseSeconds / 3);
        while (!processing.IsCancellationRequested)
        {
            await Task.Delay(every, processing.Token);
            bool held;
            try
            {
                held = await queue.RenewLeaseAsync(job, WorkerId, processing.Token);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                LogHeartbeatError(logger, ex, job.Id);
                continue; // the lease may still be valid; try again next beat
            }
            if (!held)
            {
                await processing.CancelAsync();
                return;
            }
        }
    }

    /// <summary>
    /// Reclaims expired leases every <see cref="WorkerOptions.MaintenanceSeconds"/>; scans for idle buffers at most every
    /// max(maintenance, buffer_flush_interval / 20) — the scan reads every idle entry, so it runs no more often than the
    /// interval's precision needs (3 minutes for the default hour).
    /// </summary>
    private async Task MaintenanceLoopAsync(CancellationToken stop)
    {
        var lastIdleScan = long.MinValue;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var reaped = await queue.ReapExpiredAsync(stop);
                if (reaped > 0) signal.Wake();
                var interval = bufferOptions.CurrentValue.BufferFlushInterval;
                var scanEvery = TimeSpan.FromSeconds(Math.Max(options.CurrentValue.MaintenanceSeconds, interval / 20.0));
                if (interval > 0 && (lastIdleScan == long.MinValue || Stopwatch.GetElapsedTime(lastIdleScan) >= scanEvery))
                {
                    lastIdleScan = Stopwatch.GetTimestamp();
                    foreach (var (projectId, userId, blobType) in await queue.FindIdleBuffersAsync(TimeSpan.FromSeconds(interval), 500, stop))
                    {
                        await flushes.FlushAsync(projectId, userId, blobType, FlushTrigger.Idle, wait: false, stop);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopError(logger, ex);
            }
            Interlocked.Exchange(ref _lastMaintenanceTick, Stopwatch.GetTimestamp());
            await Delay(TimeSpan.FromSeconds(options.CurrentValue.MaintenanceSeconds), stop);
        }
    }

    /// <summary>LISTEN for jobs queued by any replica, so a waiting flush anywhere is picked up within milliseconds.</summary>
    private async Task ListenLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var conn = await dedicated.OpenAsync(stop);
                conn.Notification += (_, _) => signal.Wake();
                await using (var cmd = new NpgsqlCommand($"LISTEN {JobQueue.NotifyChannel}", conn))
                {
                    await cmd.ExecuteNonQueryAsync(stop);
                }
                // Unpooled: closing the connection ends the session and its LISTEN.
                while (!stop.IsCancellationRequested) await conn.WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenError(logger, ex);
                await Delay(TimeSpan.FromSeconds(2), stop);
            }
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Flush worker {WorkerId} started with {Concurrency} loops")]
    private static partial void LogStarted(ILogger logger, string workerId, int concurrency);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Flush worker disabled (worker_enabled=false): this process only enqueues")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(EventId = 32, Level = LogLevel.Information, Message = "Flush job {JobId} attempt {Attempt} done: {Entries} entries, {LlmCalls} LLM calls, {ElapsedMs} ms")]
    private static partial void LogCompleted(ILogger logger, Guid jobId, int attempt, int entries, int llmCalls, int elapsedMs);

    [LoggerMessage(EventId = 33, Level = LogLevel.Warning, Message = "Flush job {JobId} attempt {Attempt}: lease lost, result discarded (another worker owns the job now)")]
    private static partial void LogLeaseLost(ILogger logger, Guid jobId, int attempt);

    [LoggerMessage(EventId = 34, Level = LogLevel.Warning, Message = "Flush job {JobId} attempt {Attempt} failed with errno {Errno}: {Error}; job is now {Status}")]
    private static partial void LogAttemptFailed(ILogger logger, Guid jobId, int attempt, int errno, string error, string status);

    [LoggerMessage(EventId = 35, Level = LogLevel.Error, Message = "Flush job {JobId} attempt {Attempt} crashed; job is now {Status}")]
    private static partial void LogAttemptCrashed(ILogger logger, Exception ex, Guid jobId, int attempt, string status);

    [LoggerMessage(EventId = 36, Level = LogLevel.Error, Message = "Flush worker loop error")]
    private static partial void LogLoopError(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 37, Level = LogLevel.Warning, Message = "Lease renewal for flush job {JobId} failed")]
    private static partial void LogHeartbeatError(ILogger logger, Exception ex, Guid jobId);

    [LoggerMessage(EventId = 38, Level = LogLevel.Warning, Message = "LISTEN connection failed; reconnecting")]
    private static partial void LogListenError(ILogger logger, Exception ex);
}
