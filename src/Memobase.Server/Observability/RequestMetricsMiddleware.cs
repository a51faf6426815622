using System.Diagnostics;
using Memobase.Server.Infrastructure;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Observability;

/// <summary>
/// Upstream's request metrics: <c>memobase_server_healthcheck_total</c> for <c>/api/v1/healthcheck</c>, and for every
/// authenticated API request <c>memobase_server_requests_total</c> and <c>memobase_server_request_latency</c> (ms),
/// labelled <c>project_id</c>, <c>path</c> and <c>method</c>. The path is upstream's normalised prefix (so existing
/// dashboards keep working), else the route template — never the raw path, which carries user ids.
/// </summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next)
{
    private static readonly string[] UpstreamPrefixes =
    [
        "/api/v1/admin/status_check", "/api/v1/users/blobs", "/api/v1/users/profile", "/api/v1/users/buffer", "/api/v1/users/event",
        "/api/v1/users/context", "/api/v1/users", "/api/v1/blobs/insert", "/api/v1/blobs",
    ];

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/api/v1/healthcheck", StringComparison.OrdinalIgnoreCase))
        {
            MemobaseTelemetry.Healthchecks.Add(1);
            return next(context);
        }
        return path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase)
            ? MeasureAsync(context)
            : next(context);
    }

    private async Task MeasureAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            // Upstream counts requests that passed authentication only.
            if (Caller.From(context.User) is { } caller)
            {
                var tags = new TagList
                {
                    { "project_id", caller.ProjectId },
                    { "path", NormalizedPath(context) },
                    { "method", context.Request.Method },
                };
                MemobaseTelemetry.Requests.Add(1, tags);
                MemobaseTelemetry.RequestLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, tags);
            }
        }
    }

    private static string NormalizedPath(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        foreach (var prefix in UpstreamPrefixes)
        {
            if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return prefix;
        }
        return (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } template ? "/" + template.TrimStart('/') : "unmatched";
    }
}
