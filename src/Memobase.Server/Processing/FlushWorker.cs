using System.Collections.Concurrent;
using System.Diagnostics;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Llm;
using Memobase.Server.Observability;
using Memobase.Server.Projects;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Content;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Processing;

/// <summary>
/// The hosted worker. One dispatch loop claims jobs from PostgreSQL in short batched transactions and runs each as a
/// task, up to <see cref="WorkerOptions.Concurrency"/> jobs at once; it claims nothing while LLM calls wait for a slot or
/// for the budget (<see cref="LlmThrottle"/>), so the jobs held match what the LLM can take. A job holds no database
/// connection while it waits for the LLM: it loads its input, runs the pipeline, and completes in a short transaction
/// that re-checks its lease. One heartbeat loop renews the leases of all of this process's jobs in one statement; one
/// maintenance loop reclaims expired leases and starts idle-time flushes; one listener turns NOTIFYs from any replica
/// into local wake-ups. Safe to run in any number of processes against one database.
/// </summary>
public sealed partial class FlushWorker(
    JobQueue queue,
    FlushCoordinator flushes,
    FlushSignal signal,
    BufferPipeline pipeline,
    UsageRecorder usage,
    DedicatedConnections dedicated,
    LlmThrottle throttle,
    IOptions<DatabaseOptions> databaseOptions,
    IOptionsMonitor<WorkerOptions> options,
    IOptionsMonitor<BackgroundWorkOptions> background,
    IOptionsMonitor<BufferOptions> bufferOptions,
    ILogger<FlushWorker> logger) : BackgroundService
{
    private const int ClaimBatch = 32;

    private readonly ConcurrentDictionary<(Guid Id, int Attempt), CancellationTokenSource> _running = new();
    private readonly FlushSignal _jobEnded = new();

    /// <summary>
    /// Bounds the worker's concurrent database steps (load, complete, fail) to half the pool, so a burst of jobs finishing
    /// at once never makes API requests queue behind them for a connection.
    /// </summary>
    private readonly SemaphoreSlim _dbSteps = new(Math.Max(1, databaseOptions.Value.EffectiveMaxPoolSize / 2));

    /// <summary>Identifies this process's leases: host, pid and a random suffix (a restarted process never reuses it).</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Jobs this process is running now.</summary>
    public int RunningJobs => _running.Count;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.CurrentValue;
        if (!background.CurrentValue.Enabled)
        {
            LogDisabled(logger);
            return Task.CompletedTask;
        }
        LogStarted(logger, WorkerId, o.Concurrency);
        IsRunning = true;
        return Task.WhenAll(
            Task.Run(() => DispatchLoopAsync(stoppingToken), stoppingToken),
            Task.Run(() => HeartbeatLoopAsync(stoppingToken), stoppingToken),
            Task.Run(() => MaintenanceLoopAsync(stoppingToken), stoppingToken),
            Task.Run(() => ListenLoopAsync(stoppingToken), stoppingToken));
    }

    public override void Dispose()
    {
        _dbSteps.Dispose();
        base.Dispose();
    }

    /// <summary>True once the loops started (false when <c>worker_enabled=false</c>).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>When the maintenance loop last finished a round (<see cref="Stopwatch"/> timestamp); readiness checks it.</summary>
    public long LastMaintenanceTick => Interlocked.Read(ref _lastMaintenanceTick);

    private long _lastMaintenanceTick = Stopwatch.GetTimestamp();

    private async Task DispatchLoopAsync(CancellationToken stop)
    {
        var jobs = new ConcurrentDictionary<Task, byte>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var free = options.CurrentValue.Concurrency - _running.Count;
                if (free <= 0 || throttle.Waiting > 0)
                {
                    // Full, or the LLM is the bottleneck: more jobs would only wait in memory while holding leases.
                    await _jobEnded.WaitAsync(TimeSpan.FromMilliseconds(100), stop);
                    continue;
                }
                var claimStarted = DateTimeOffset.UtcNow;
                var claimed = await queue.ClaimBatchAsync(WorkerId, Math.Min(free, ClaimBatch), stop);
                if (claimed.Count == 0)
                {
                    await signal.WaitAsync(TimeSpan.FromSeconds(options.CurrentValue.PollSeconds), stop);
                    continue;
                }
                foreach (var job in claimed)
                {
                    var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    _running[(job.Id, job.Attempt)] = leaseLost;
                    var task = Task.Run(() => RunAsync(job, leaseLost, claimStarted, stop), CancellationToken.None);
                    jobs[task] = 0;
                    _ = task.ContinueWith(t =>
                    {
                        jobs.TryRemove(t, out _);
                        if (_running.TryRemove((job.Id, job.Attempt), out var cts)) cts.Dispose();
                        _jobEnded.Wake();
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogLoopError(logger, ex);
                await Delay(TimeSpan.FromSeconds(1), stop);
            }
        }
        // Shutting down: every running job hands itself back (RunAsync); wait for them.
        await Task.WhenAll(jobs.Keys);
    }

    /// <summary>Runs one claimed job to completion, failure or lease loss.</summary>
    /// <param name="leaseLost">Linked to <paramref name="stop"/>; the heartbeat cancels it when the lease is lost.</param>
    private async Task RunAsync(ClaimedJob job, CancellationTokenSource leaseLost, DateTimeOffset claimStarted, CancellationToken stop)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = JobTelemetry.StartJob(job, claimStarted);
        var calls = new LlmCallLog();
        using var scope = LlmCallContext.ForProject(job.ProjectId, calls);
        var outcome = JobTelemetry.LeaseLost;
        try
        {
            var input = await DbStepAsync(() => queue.LoadInputAsync(job, leaseLost.Token), leaseLost.Token);
            var run = input.Blobs.Count == 0
                ? new PipelineResult([], [], [], null, 0, LlmUsage.None)
                : await pipeline.RunAsync(input, leaseLost.Token);
            var result = new FlushResult(run.Event?.Id, run.Adds.Select(a => a.Id).ToList(), run.Updates.Select(u => u.Id).ToList(), run.Deletes);
            var deleteBlobs = job.BlobType == BlobTypes.Chat && !bufferOptions.CurrentValue.PersistentChatBlobs;
            var ms = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            bool completed;
            using (JobTelemetry.StartStep("flush_job complete"))
            {
                completed = await DbStepAsync(() => queue.CompleteAsync(job, WorkerId, run, result, deleteBlobs, ms, calls.Snapshot(), CancellationToken.None),
                    CancellationToken.None);
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
        catch (PipelineException ex) when (ex.RateLimitedFor is { } wait)
        {
            // The provider kept answering 429: a rate limit is not the job's failure. Back to the queue, no attempt spent.
            usage.RecordLlmTokens(job.ProjectId, ex.Usage.PromptTokens, ex.Usage.CompletionTokens);
            var status = await DbStepAsync(() => queue.FailAttemptAsync(job, WorkerId, ex.Errno, ex.Message, retryable: true, ex.Usage, countAttempt: false,
                calls.Snapshot(), CancellationToken.None, requeueAfter: wait), CancellationToken.None);
            outcome = status is null ? JobTelemetry.LeaseLost : JobTelemetry.RateLimited;
            LogRateLimited(logger, job.Id, job.Attempt, (int)wait.TotalSeconds);
        }
        catch (PipelineException ex)
        {
            usage.RecordLlmTokens(job.ProjectId, ex.Usage.PromptTokens, ex.Usage.CompletionTokens);
            var status = await DbStepAsync(() => queue.FailAttemptAsync(job, WorkerId, ex.Errno, ex.Message, ex.Retryable, ex.Usage, countAttempt: true,
                calls.Snapshot(), CancellationToken.None), CancellationToken.None);
            outcome = JobTelemetry.OutcomeOf(status);
            JobTelemetry.Failed(activity, ex.Errno, ex.Message);
            LogAttemptFailed(logger, job.Id, job.Attempt, ex.Errno, ex.Message, status ?? "lease lost");
        }
        catch (Exception ex)
        {
            var status = await DbStepAsync(() => queue.FailAttemptAsync(job, WorkerId, Errno.InternalServerError, $"processing error: {ex.Message}",
                retryable: true, LlmUsage.None, countAttempt: true, calls.Snapshot(), CancellationToken.None), CancellationToken.None);
            outcome = JobTelemetry.OutcomeOf(status);
            JobTelemetry.Failed(activity, Errno.InternalServerError, ex.GetType().Name);
            LogAttemptCrashed(logger, ex, job.Id, job.Attempt, status ?? "lease lost");
        }
        finally
        {
            JobTelemetry.AttemptEnded(job, activity, outcome, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<T> DbStepAsync<T>(Func<Task<T>> step, CancellationToken ct)
    {
        await _dbSteps.WaitAsync(ct);
        try
        {
            return await step();
        }
        finally
        {
            _dbSteps.Release();
        }
    }

    /// <summary>
    /// Every third of the lease, renews the leases of all jobs this process runs in one statement; a job whose lease
    /// was lost (expired and reclaimed, or its user deleted) is cancelled. A failed renewal is tried again next beat:
    /// the leases may still be valid.
    /// </summary>
    private async Task HeartbeatLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Delay(TimeSpan.FromSeconds(options.CurrentValue.LeaseSeconds / 3), stop);
            var jobs = _running.Keys.ToList();
            if (jobs.Count == 0 || stop.IsCancellationRequested) continue;
            IReadOnlySet<(Guid Id, int Attempt)> held;
            try
            {
                held = await queue.RenewLeasesAsync(WorkerId, jobs, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                LogHeartbeatError(logger, ex, jobs.Count);
                continue;
            }
            foreach (var job in jobs.Where(j => !held.Contains(j)))
            {
                if (!_running.TryGetValue(job, out var leaseLost)) continue; // it ended meanwhile
                try
                {
                    await leaseLost.CancelAsync();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }

    /// <summary>
    /// Reclaims expired leases every <see cref="BackgroundWorkOptions.MaintenanceSeconds"/>; scans for idle buffers at most every
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
                var scanEvery = TimeSpan.FromSeconds(Math.Max(background.CurrentValue.MaintenanceSeconds, interval / 20.0));
                if (interval > 0 && (lastIdleScan == long.MinValue || Stopwatch.GetElapsedTime(lastIdleScan) >= scanEvery))
                {
                    lastIdleScan = Stopwatch.GetTimestamp();
                    foreach (var (projectId, userId, blobType) in await queue.FindIdleBuffersAsync(TimeSpan.FromSeconds(interval), 500, stop))
                    {
                        await flushes.FlushAsync(projectId, userId, blobType, FlushTrigger.Idle, wait: false, shared: null, stop);
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
            await Delay(TimeSpan.FromSeconds(background.CurrentValue.MaintenanceSeconds), stop);
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

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Flush worker {WorkerId} started: up to {Concurrency} jobs at once")]
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

    [LoggerMessage(EventId = 37, Level = LogLevel.Warning, Message = "Lease renewal of {Jobs} running flush job(s) failed")]
    private static partial void LogHeartbeatError(ILogger logger, Exception ex, int jobs);

    [LoggerMessage(EventId = 39, Level = LogLevel.Warning, Message = "Flush job {JobId} attempt {Attempt}: the LLM provider kept answering 429; job queued again in {Seconds} s, no attempt spent")]
    private static partial void LogRateLimited(ILogger logger, Guid jobId, int attempt, int seconds);

    [LoggerMessage(EventId = 38, Level = LogLevel.Warning, Message = "LISTEN connection failed; reconnecting")]
    private static partial void LogListenError(ILogger logger, Exception ex);
}
