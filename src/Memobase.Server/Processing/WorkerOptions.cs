using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.Processing;

/// <summary>Knobs of the durable flush queue and its hosted worker (config section "Memobase", snake_case keys).</summary>
public sealed class WorkerOptions
{
    /// <summary>
    /// Jobs this process holds at the same time (jobs of one buffer never run concurrently). A job mostly waits for the
    /// LLM and holds no database connection meanwhile, so this is a memory bound, not a thread or connection count: LLM
    /// calls in flight are bounded by <c>llm_max_concurrency</c>, and the worker claims no new job while calls wait for a
    /// slot or for the budget. One process drains about min(this, llm_max_concurrency) ÷ (3 × LLM latency) jobs per second.
    /// </summary>
    [ConfigurationKeyName("worker_concurrency")]
    [Range(1, 10_000)]
    public int Concurrency { get; set; } = 256;

    /// <summary>A running job's lease; the worker renews it every third of this. An expired lease is reclaimed.</summary>
    [ConfigurationKeyName("job_lease_seconds")]
    [Range(1, 3600)]
    public double LeaseSeconds { get; set; } = 60;

    /// <summary>Attempts per job before its entries become <c>failed</c>.</summary>
    [ConfigurationKeyName("job_max_attempts")]
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Backoff before retry n is base × 2^(n-1), capped by <see cref="RetryMaxDelaySeconds"/>.</summary>
    [ConfigurationKeyName("job_retry_base_delay_seconds")]
    [Range(0, 3600)]
    public double RetryBaseDelaySeconds { get; set; } = 5;

    [ConfigurationKeyName("job_retry_max_delay_seconds")]
    [Range(0, 86400)]
    public double RetryMaxDelaySeconds { get; set; } = 300;

    /// <summary>How often an idle worker looks for work without being woken (wake-ups come from this process and LISTEN/NOTIFY).</summary>
    [ConfigurationKeyName("worker_poll_seconds")]
    [Range(0.01, 600)]
    public double PollSeconds { get; set; } = 2;

    /// <summary>How long <c>wait_process=true</c> waits for its job before answering with errno 504.</summary>
    [ConfigurationKeyName("wait_process_timeout_seconds")]
    [Range(0.1, 3600)]
    public double WaitTimeoutSeconds { get; set; } = 300;

    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);
}
