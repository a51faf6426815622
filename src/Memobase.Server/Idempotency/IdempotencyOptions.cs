using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.Idempotency;

/// <summary>Knobs of the Idempotency-Key support (config section "Memobase", snake_case keys).</summary>
public sealed class IdempotencyOptions
{
    /// <summary>How long a key and its stored response are kept (a repeat within it is replayed); fractions allowed.</summary>
    [ConfigurationKeyName("idempotency_key_retention_hours")]
    [Range(0.0001, 8760)]
    public double RetentionHours { get; set; } = 24;

    /// <summary>
    /// Tests only, unset in any deployment: a request with exactly this Idempotency-Key kills the server process right
    /// after its write committed and before the response is sent, the crash a retry must survive.
    /// </summary>
    [ConfigurationKeyName("idempotency_test_crash_key")]
    public string? TestCrashKey { get; set; }

    public TimeSpan Retention => TimeSpan.FromHours(RetentionHours);
}
