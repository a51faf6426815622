using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Memobase.Server.Projects;

/// <summary>
/// Monthly LLM-token quotas per project status, upstream's fallback billing. Keys under <c>Memobase:</c>
/// (config.yaml / <c>MEMOBASE_USAGE_TOKEN_LIMIT_ACTIVE</c> …); when a key is not set there, upstream's plain environment
/// variables <c>USAGE_TOKEN_LIMIT_ACTIVE</c>, <c>USAGE_TOKEN_LIMIT_PRO</c> and <c>USAGE_TOKEN_LIMIT_ULTRA</c> are read.
/// A negative limit (the default, -1) means unlimited. The root project is never limited.
/// </summary>
public sealed class BillingOptions
{
    /// <summary>Monthly tokens (LLM input + output) of <c>active</c> projects; env <c>USAGE_TOKEN_LIMIT_ACTIVE</c>.</summary>
    [ConfigurationKeyName("usage_token_limit_active")]
    public long UsageTokenLimitActive { get; set; } = -1;

    /// <summary>Monthly tokens of <c>pro</c> projects; env <c>USAGE_TOKEN_LIMIT_PRO</c>.</summary>
    [ConfigurationKeyName("usage_token_limit_pro")]
    public long UsageTokenLimitPro { get; set; } = -1;

    /// <summary>Monthly tokens of <c>ultra</c> projects; env <c>USAGE_TOKEN_LIMIT_ULTRA</c>.</summary>
    [ConfigurationKeyName("usage_token_limit_ultra")]
    public long UsageTokenLimitUltra { get; set; } = -1;

    /// <summary>How long the insert-time quota check reuses a project's result, in seconds (0: no cache).</summary>
    [ConfigurationKeyName("billing_quota_cache_seconds")]
    [Range(0, 3600)]
    public double BillingQuotaCacheSeconds { get; set; } = 5;

    public long LimitFor(string status) => status switch
    {
        ProjectStatus.Active => UsageTokenLimitActive,
        ProjectStatus.Pro => UsageTokenLimitPro,
        ProjectStatus.Ultra => UsageTokenLimitUltra,
        _ => -1,
    };

    public bool AnyLimit => UsageTokenLimitActive >= 0 || UsageTokenLimitPro >= 0 || UsageTokenLimitUltra >= 0;

    /// <summary>Binds the options and adds the upstream environment-variable fallbacks.</summary>
    public static void Register(IServiceCollection services)
    {
        services.AddMemobaseOptions<BillingOptions>().Configure<IConfiguration>((o, configuration) =>
        {
            o.UsageTokenLimitActive = Fallback(configuration, "usage_token_limit_active", "USAGE_TOKEN_LIMIT_ACTIVE", o.UsageTokenLimitActive);
            o.UsageTokenLimitPro = Fallback(configuration, "usage_token_limit_pro", "USAGE_TOKEN_LIMIT_PRO", o.UsageTokenLimitPro);
            o.UsageTokenLimitUltra = Fallback(configuration, "usage_token_limit_ultra", "USAGE_TOKEN_LIMIT_ULTRA", o.UsageTokenLimitUltra);
        });
    }

    private static long Fallback(IConfiguration configuration, string key, string environmentName, long current)
    {
        if (configuration[$"{UpstreamConfiguration.Section}:{key}"] is not null) return current;
        return long.TryParse(configuration[environmentName], System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : current;
    }
}

/// <summary>Upstream's BillingData. <c>token_left</c> is null for unlimited projects (and root).</summary>
public sealed record BillingData(long? TokenLeft, DateTimeOffset? NextRefillAt, long ProjectTokenCostMonth);

/// <summary>
/// Token quota of a project: this month's LLM tokens (from <c>usage_daily</c>, UTC months) against the limit for the
/// project's status (<see cref="BillingOptions"/>). Quotas refill on the first day of each month (UTC).
/// </summary>
public sealed class BillingService(NpgsqlDataSource db, UsageRecorder usage, IOptionsMonitor<BillingOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (Failure? Result, long ExpiresAt)> _quotaCache = new(StringComparer.Ordinal);

    /// <summary>The billing endpoint's data (includes this process's not yet written usage counts).</summary>
    public async Task<BillingData> GetBillingAsync(Caller caller, CancellationToken ct)
    {
        await usage.FlushAsync(ct);
        var (status, cost) = await StatusAndMonthCostAsync(caller.ProjectId, ct);
        var limit = caller.IsRoot ? -1 : options.CurrentValue.LimitFor(status);
        return new BillingData(limit < 0 ? null : limit - cost, NextRefill(), cost);
    }

    /// <summary>
    /// Errno 503 when the project's <c>token_left</c> is below zero, else null. Results are cached per project for
    /// <c>billing_quota_cache_seconds</c>; with no limit configured no query runs at all.
    /// </summary>
    public async ValueTask<Failure?> CheckQuotaAsync(string projectId, CancellationToken ct)
    {
        var o = options.CurrentValue;
        if (projectId == MemobaseDb.RootProjectId || !o.AnyLimit) return null;
        var now = clock.GetTimestamp();
        if (_quotaCache.TryGetValue(projectId, out var hit) && hit.ExpiresAt > now) return hit.Result;

        var (status, cost) = await StatusAndMonthCostAsync(projectId, ct);
        var limit = o.LimitFor(status);
        Failure? result = null;
        if (limit >= 0 && limit - cost < 0)
        {
            result = new Failure(Errno.ServiceUnavailable,
                $"Your project has exceeded its token quota: {limit - cost} tokens left, {cost} used this month. " +
                $"The quota refills on {NextRefill():yyyy-MM-dd}.");
        }
        if (o.BillingQuotaCacheSeconds > 0)
        {
            _quotaCache[projectId] = (result, now + (long)(o.BillingQuotaCacheSeconds * clock.TimestampFrequency));
        }
        return result;
    }

    /// <summary>First day of next month, 00:00 UTC.</summary>
    public DateTimeOffset NextRefill()
    {
        var today = clock.GetUtcNow();
        return new DateTimeOffset(today.Year, today.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
    }

    private async Task<(string Status, long Cost)> StatusAndMonthCostAsync(string projectId, CancellationToken ct)
    {
        var today = clock.GetUtcNow();
        await using var cmd = Sql.Command(db, """
            SELECT (SELECT status FROM projects WHERE project_id = $1),
                   (SELECT coalesce(sum(total_input_token + total_output_token), 0)::bigint FROM usage_daily
                     WHERE project_id = $1 AND day >= $2)
            """, projectId, new DateOnly(today.Year, today.Month, 1));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.IsDBNull(0) ? ProjectStatus.Active : reader.GetString(0), reader.GetInt64(1));
    }
}
