using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.Observability;

/// <summary>Metrics, traces, CORS (section <c>Memobase</c>, upstream names where upstream has them).</summary>
public sealed class ObservabilityOptions
{
    public const string DefaultApiHosts = "https://api.memobase.dev,https://api.memobase.cn";

    /// <summary>Collect metrics and serve them at <c>GET /metrics</c> (Prometheus text). Off: no meter provider at all.</summary>
    [ConfigurationKeyName("metrics_enabled")]
    public bool MetricsEnabled { get; set; } = true;

    /// <summary><c>GET /metrics</c> without a token. Off (the default): the root token is required.</summary>
    [ConfigurationKeyName("metrics_public")]
    public bool MetricsPublic { get; set; }

    /// <summary>
    /// Upstream's dedicated Prometheus listener: when set (upstream uses 9464), <c>/metrics</c> is also served without a
    /// token on this port, on all interfaces. 0: no extra listener.
    /// </summary>
    [ConfigurationKeyName("prometheus_port")]
    [Range(0, 65535)]
    public int PrometheusPort { get; set; }

    /// <summary>How often the queue gauges (jobs queued/running/failed) are read from the database, in seconds.</summary>
    [ConfigurationKeyName("queue_metrics_seconds")]
    [Range(1, 3600)]
    public double QueueMetricsSeconds { get; set; } = 15;

    /// <summary>Upstream's OpenTelemetry resource attribute <c>deployment.environment</c>.</summary>
    [ConfigurationKeyName("telemetry_deployment_environment")]
    public string TelemetryDeploymentEnvironment { get; set; } = "local";

    /// <summary>Answer CORS requests from <see cref="ApiHosts"/> (upstream env <c>USE_CORS</c>).</summary>
    [ConfigurationKeyName("use_cors")]
    public bool UseCors { get; set; }

    /// <summary>Comma-separated allowed CORS origins (upstream env <c>API_HOSTS</c>).</summary>
    [ConfigurationKeyName("api_hosts")]
    public string ApiHosts { get; set; } = DefaultApiHosts;

    public string[] CorsOrigins => ApiHosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
