using System.Text.Json;
using Memobase.Server.Buffers;
using Memobase.Server.Idempotency;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Microsoft.Extensions.Options;
using Memobase.Server.Content;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Processing;

/// <summary>
/// Entry point for every flush (API, automatic threshold, idle timer): turns the buffer's idle entries into a queued
/// job and, for <c>wait_process=true</c>, waits for that job to finish — whichever server process runs it. Inside a
/// <see cref="RequestTransaction"/> the job is queued in that transaction and the wait is left to its owner, who waits
/// after the commit (<see cref="RequestTransaction.WaitAfterCommit"/>).
/// </summary>
public sealed class FlushCoordinator(JobQueue queue, FlushSignal signal, IOptionsMonitor<WorkerOptions> options, TimeProvider clock) : IBufferFlusher, IFlushJobAwaiter
{
    public async Task<FlushOutcome> FlushAsync(string projectId, Guid userId, string blobType, string trigger, bool wait, RequestTransaction? shared,
        CancellationToken ct)
    {
        if (!BlobTypes.IsProcessable(blobType))
        {
            // Upstream: doc (and other) buffers are stored but never processed.
            if (!await queue.HasIdleAsync(projectId, userId, blobType, ct)) return FlushOutcome.Nothing;
            return wait ? new FlushOutcome(null, new Failure(Errno.BadRequest, $"Blob type {blobType} not supported")) : FlushOutcome.Scheduled;
        }

        var enqueued = await queue.EnqueueAsync(projectId, userId, blobType, trigger, shared?.Transaction, ct);
        if (enqueued.Attached) signal.Wake();
        // Our own job, or — when a concurrent flush already took the entries — the job that has them.
        var jobId = enqueued.JobId ?? enqueued.ActiveJobId;
        if (wait && jobId is { } awaited && shared?.Transaction is not null)
        {
            shared.WaitAfterCommit(awaited);
            wait = false;
        }
        if (!wait) return enqueued.Attached ? FlushOutcome.Scheduled with { JobId = jobId } : FlushOutcome.Nothing with { JobId = jobId };
        return jobId is { } id ? await WaitAsync(id, projectId, ct) with { JobId = id } : FlushOutcome.Nothing;
    }

    public async Task<AwaitedFlush> WaitForJobAsync(Guid jobId, string projectId, CancellationToken ct)
    {
        var outcome = await WaitAsync(jobId, projectId, ct);
        return new AwaitedFlush(outcome.Results, outcome.Failure);
    }

    /// <summary>Polls the job row until it is done or failed (following merges), or the wait timeout passes.</summary>
    public async Task<FlushOutcome> WaitAsync(Guid jobId, string projectId, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(options.CurrentValue.WaitTimeoutSeconds);
        var started = clock.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(10);
        var current = jobId;
        string status = JobStatus.Queued;
        while (clock.GetElapsedTime(started) < timeout)
        {
            var state = await queue.GetStateAsync(current, ct);
            if (state is null)
            {
                return new FlushOutcome(null, new Failure(Errno.NotFound, $"Flush job {current} no longer exists (was its user deleted?)"));
            }
            status = state.Status;
            switch (state.Status)
            {
                case JobStatus.Done:
                    var result = state.ResultJson is null ? FlushResult.Empty : JsonSerializer.Deserialize<FlushResult>(state.ResultJson, Json.Storage)!;
                    return new FlushOutcome([result], null);
                case JobStatus.Failed:
                    return new FlushOutcome(null, new Failure(state.LastErrno ?? Errno.InternalServerError,
                        $"Buffer processing failed (flush job {current}): {state.LastError}"));
                case JobStatus.Merged when state.MergedInto is { } target:
                    current = target;
                    continue;
            }
            await Task.Delay(delay, clock, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(250, delay.TotalMilliseconds * 1.5));
        }
        MemobaseTelemetry.WaitTimeouts.Add(1, new KeyValuePair<string, object?>("project_id", projectId));
        return new FlushOutcome(null, new Failure(Errno.GatewayTimeout,
            $"Timed out after {timeout.TotalSeconds:0.#} s waiting for flush job {current} (still {status}). " +
            $"It keeps running in the background; see GET /admin/v1/jobs/{current}."));
    }
}
