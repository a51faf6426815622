using System.Diagnostics;
using Memobase.Server.Data;
using Memobase.Server.Processing;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Processing;

/// <summary>
/// Spans and metrics of flush jobs. A job attempt is one <c>flush_job</c> span (kind Consumer) whose parent is the trace
/// context stored with the job by the request that queued it — so the request, the job and its LLM calls form one
/// trace even when another replica runs the job — and which also carries a link to that context, as OpenTelemetry's
/// messaging conventions do for work that outlives its request. Children: <c>flush_job claim</c> (the claim
/// transaction), one span per LLM/embedding call, <c>flush_job complete</c> (the completion transaction).
/// </summary>
public static class JobTelemetry
{
    public const string Released = "released";
    public const string RateLimited = "rate_limited";
    public const string LeaseLost = "lease_lost";
    public const string Retry = "retry";

    /// <summary>The current W3C trace context (<c>traceparent</c>), to store with a job; null when nothing is traced.</summary>
    public static string? CurrentTraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C, Recorded: true } a ? a.Id : null;

    public static Activity? StartJob(ClaimedJob job, DateTimeOffset claimStarted)
    {
        ActivityContext parent = default;
        var hasParent = job.TraceParent is { } tp && ActivityContext.TryParse(tp, null, isRemote: true, out parent);
        var links = hasParent ? new[] { new ActivityLink(parent) } : null;
        // A job is a root of its own when nothing was traced at enqueue time (idle flushes, untraced requests).
        var activity = MemobaseTelemetry.Source.StartActivity(ActivityKind.Consumer, hasParent ? parent : default, links: links,
            startTime: claimStarted, name: "flush_job");
        if (activity is null) return null;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("memobase.job.id", job.Id.ToString());
            activity.SetTag("memobase.job.attempt", job.Attempt);
            activity.SetTag("memobase.job.trigger", job.Trigger);
            activity.SetTag("memobase.blob_type", job.BlobType);
            activity.SetTag("memobase.project_id", job.ProjectId);
            activity.SetTag("messaging.operation.type", "process");
        }
        using (var claim = MemobaseTelemetry.Source.StartActivity("flush_job claim", ActivityKind.Internal, activity.Context, startTime: claimStarted))
        {
            claim?.SetTag("memobase.job.queue_wait_ms", (long)job.QueueWait.TotalMilliseconds);
        }
        return activity;
    }

    /// <summary>A child span of the current job span (e.g. the completion transaction).</summary>
    public static Activity? StartStep(string name) => MemobaseTelemetry.Source.StartActivity(name, ActivityKind.Internal);

    public static void Failed(Activity? activity, int errno, string message)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, message.Length <= 200 ? message : message[..200]);
        activity.SetTag("memobase.errno", errno);
    }

    /// <summary>Metric outcome of a failed attempt from the job's new status (null: the lease was lost meanwhile).</summary>
    public static string OutcomeOf(string? status) => status switch
    {
        JobStatus.Queued => Retry,
        JobStatus.Failed => JobStatus.Failed,
        _ => LeaseLost,
    };

    public static void AttemptEnded(ClaimedJob job, Activity? activity, string outcome, TimeSpan elapsed)
    {
        var project = new KeyValuePair<string, object?>("project_id", job.ProjectId);
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        MemobaseTelemetry.JobAttempts.Add(1, project, tag);
        MemobaseTelemetry.JobDuration.Record(elapsed.TotalSeconds, project, tag);
        if (outcome is JobStatus.Done or JobStatus.Failed)
        {
            MemobaseTelemetry.JobLatency.Record((job.Age + elapsed).TotalSeconds, project, tag);
        }
        activity?.SetTag("memobase.job.outcome", outcome);
    }
}
