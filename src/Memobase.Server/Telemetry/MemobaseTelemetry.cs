using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Memobase.Server.Telemetry;

/// <summary>
/// The server's own meter and activity source. Instrument names are the Prometheus names operators see (upstream's
/// <c>memobase_server_*</c> names unchanged, so existing dashboards keep working; ours for the durable queue).
/// Labels are bounded: project id, stage, model, trigger, outcome, cause — never a user id, token or content.
/// Recording costs next to nothing while no meter provider listens (<c>metrics_enabled=false</c>).
/// </summary>
public static class MemobaseTelemetry
{
    public const string Name = "Memobase.Server";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    // ---- upstream's names (counters end in _total already; histograms carry no unit so no suffix is added)

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("memobase_server_requests_total",
        description: "Total number of requests to the memobase server");
    public static readonly Counter<long> Healthchecks = Meter.CreateCounter<long>("memobase_server_healthcheck_total",
        description: "Total number of healthcheck requests to the memobase server");
    public static readonly Counter<long> LlmInvocations = Meter.CreateCounter<long>("memobase_server_llm_invocations_total",
        description: "Total number of LLM invocations");
    public static readonly Counter<long> LlmInputTokens = Meter.CreateCounter<long>("memobase_server_llm_input_tokens_total",
        description: "Total number of input tokens");
    public static readonly Counter<long> LlmOutputTokens = Meter.CreateCounter<long>("memobase_server_llm_output_tokens_total",
        description: "Total number of output tokens");
    public static readonly Counter<long> EmbeddingTokens = Meter.CreateCounter<long>("memobase_server_embedding_tokens_total",
        description: "Total number of embedding input tokens");
    public static readonly Histogram<double> LlmLatency = Meter.CreateHistogram<double>("memobase_server_llm_latency",
        description: "Latency of the LLM in milliseconds", advice: MillisecondBuckets);
    public static readonly Histogram<double> EmbeddingLatency = Meter.CreateHistogram<double>("memobase_server_embedding_latency",
        description: "Latency of the embedding in milliseconds", advice: MillisecondBuckets);
    public static readonly Histogram<double> RequestLatency = Meter.CreateHistogram<double>("memobase_server_request_latency",
        description: "Latency of the request in milliseconds", advice: MillisecondBuckets);

    // ---- ours: the durable flush queue

    public static readonly Counter<long> FlushesEnqueued = Meter.CreateCounter<long>("memobase_flush_enqueued_total",
        description: "Flushes that attached buffer entries to a job, by trigger (flush, auto, idle, retry)");
    public static readonly Counter<long> JobAttempts = Meter.CreateCounter<long>("memobase_flush_job_attempts_total",
        description: "Finished job attempts, by outcome (done, retry, failed, released, lease_lost)");
    public static readonly Counter<long> LeaseReclaims = Meter.CreateCounter<long>("memobase_flush_job_lease_reclaims_total",
        description: "Running jobs whose lease expired and were taken back (their worker crashed or hung)");
    public static readonly Counter<long> WaitTimeouts = Meter.CreateCounter<long>("memobase_flush_wait_timeouts_total",
        description: "wait_process=true calls that gave up after wait_process_timeout_seconds (errno 504)");
    public static readonly Counter<long> LlmRetries = Meter.CreateCounter<long>("memobase_llm_retries_total",
        description: "LLM and embedding requests sent again, by project, kind (chat, embedding) and cause (http_408, http_429, http_5xx, timeout, connection); chat 429s are waited out without spending an attempt");
    public static readonly Counter<long> LlmFailures = Meter.CreateCounter<long>("memobase_llm_failures_total",
        description: "LLM and embedding calls that failed for good, by project, kind, stage and cause (configuration, http_<code>, timeout, connection, response)");
    public static readonly Counter<long> LlmBudgetWaits = Meter.CreateCounter<long>("memobase_llm_budget_waits_total",
        description: "LLM calls that had to wait for the shared budget (llm_requests_per_minute, llm_tokens_per_minute), by project");
    public static readonly Histogram<double> LlmBudgetWaitSeconds = Meter.CreateHistogram<double>("memobase_llm_budget_wait_seconds",
        description: "How long those calls waited for the budget", advice: SecondBuckets);
    public static readonly Histogram<double> JobDuration = Meter.CreateHistogram<double>("memobase_flush_job_duration_seconds",
        description: "Processing time of one job attempt, from claim to completion or failure, by outcome", advice: SecondBuckets);
    public static readonly Histogram<double> JobQueueWait = Meter.CreateHistogram<double>("memobase_flush_job_queue_wait_seconds",
        description: "Time a job was ready (queued, backoff passed) before a worker claimed it", advice: SecondBuckets);
    public static readonly Histogram<double> JobLatency = Meter.CreateHistogram<double>("memobase_flush_job_latency_seconds",
        description: "Time from a job's creation to its end (done or failed), retries included, by outcome", advice: SecondBuckets);

    private static InstrumentAdvice<double> MillisecondBuckets => new()
    {
        HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000],
    };

    private static InstrumentAdvice<double> SecondBuckets => new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    };
}
