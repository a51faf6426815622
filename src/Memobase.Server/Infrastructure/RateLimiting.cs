using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Infrastructure;

/// <summary>Per-project request rate limit: a token bucket per project, refilled every second.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests per second a project's bucket is refilled with (0 turns rate limiting off).</summary>
    [ConfigurationKeyName("rate_limit_requests_per_second")]
    [Range(0, 1_000_000)]
    public int RequestsPerSecond { get; set; } = 100;

    /// <summary>Bucket size: how many requests a project may send at once after being idle.</summary>
    [ConfigurationKeyName("rate_limit_burst")]
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 1000;

    /// <summary>Limit the root token too (its own bucket, same size). Off: root is never limited.</summary>
    [ConfigurationKeyName("rate_limit_root")]
    public bool LimitRoot { get; set; }
}

/// <summary>
/// ASP.NET Core's rate limiter, partitioned by the authenticated project. Runs after authorization, so unauthenticated
/// requests never reach a bucket; anonymous endpoints (healthcheck, docs) are not limited. Over the limit: HTTP 429 with
/// the envelope and <c>Retry-After</c>.
/// </summary>
public static class RateLimiting
{
    public static IServiceCollection AddMemobaseRateLimiting(this IServiceCollection services)
    {
        services.AddMemobaseOptions<RateLimitOptions>();
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(Partition);
            o.OnRejected = OnRejectedAsync;
        });
        return services;
    }

    private static RateLimitPartition<string> Partition(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<RateLimitOptions>>().CurrentValue;
        var caller = Caller.From(context.User);
        if (caller is null || options.RequestsPerSecond == 0 || (caller.IsRoot && !options.LimitRoot))
        {
            return RateLimitPartition.GetNoLimiter("");
        }
        return RateLimitPartition.GetTokenBucketLimiter(caller.ProjectId, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Burst,
            TokensPerPeriod = options.RequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken ct)
    {
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
        var http = context.HttpContext;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var project = Caller.From(http.User)?.ProjectId;
        return new ValueTask(ErrorResponses.WriteAsync(http, StatusCodes.Status429TooManyRequests,
            $"Too many requests for project {project}; retry after {seconds} s"));
    }
}
