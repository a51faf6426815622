using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Webhooks;

/// <summary>Knobs of webhook delivery (config section "Memobase", snake_case keys). Deliveries run where <c>worker_enabled</c> is on.</summary>
public sealed class WebhookOptions
{
    /// <summary>Timeout of one delivery attempt (connect, send, response headers).</summary>
    [ConfigurationKeyName("webhook_timeout_seconds")]
    [Range(0.1, 300)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Attempts per delivery before it is marked failed.</summary>
    [ConfigurationKeyName("webhook_max_attempts")]
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 12;

    /// <summary>Backoff before retry n is base × 2^(n-1), capped by <see cref="RetryMaxDelaySeconds"/>.</summary>
    [ConfigurationKeyName("webhook_retry_base_delay_seconds")]
    [Range(0, 3600)]
    public double RetryBaseDelaySeconds { get; set; } = 10;

    [ConfigurationKeyName("webhook_retry_max_delay_seconds")]
    [Range(0, 86400)]
    public double RetryMaxDelaySeconds { get; set; } = 3600;

    /// <summary>An endpoint whose deliveries failed for good this many times in a row is disabled (0: never).</summary>
    [ConfigurationKeyName("webhook_disable_after_failures")]
    [Range(0, 10000)]
    public int DisableAfterFailures { get; set; } = 5;

    /// <summary>Deliveries one process sends at once.</summary>
    [ConfigurationKeyName("webhook_concurrency")]
    [Range(1, 256)]
    public int Concurrency { get; set; } = 4;

    /// <summary>How often an idle delivery loop looks for due deliveries without a NOTIFY (retries become due this way).</summary>
    [ConfigurationKeyName("webhook_poll_seconds")]
    [Range(0.01, 600)]
    public double PollSeconds { get; set; } = 1;

    /// <summary>
    /// Allow endpoint URLs that are or resolve to loopback, private, link-local or other non-public addresses. Off by
    /// default: a project token could otherwise make the server call services on its own network.
    /// </summary>
    [ConfigurationKeyName("webhook_allow_private_urls")]
    public bool AllowPrivateUrls { get; set; }

    [ConfigurationKeyName("webhook_max_endpoints_per_project")]
    [Range(1, 1000)]
    public int MaxEndpointsPerProject { get; set; } = 20;

    /// <summary>Delivered and failed deliveries older than this are deleted (0: kept forever).</summary>
    [ConfigurationKeyName("webhook_retention_days")]
    [Range(0, 3650)]
    public double RetentionDays { get; set; } = 30;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>Delay before the retry that follows attempt <paramref name="attempts"/>.</summary>
    public TimeSpan Backoff(int attempts)
        => TimeSpan.FromSeconds(Math.Min(RetryMaxDelaySeconds, RetryBaseDelaySeconds * Math.Pow(2, Math.Max(0, attempts - 1))));
}

public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
        => options.RetryMaxDelaySeconds < options.RetryBaseDelaySeconds
            ? ValidateOptionsResult.Fail("webhook_retry_max_delay_seconds must not be below webhook_retry_base_delay_seconds.")
            : ValidateOptionsResult.Success;
}
