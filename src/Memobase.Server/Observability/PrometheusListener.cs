using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Memobase.Server.Observability;

/// <summary>
/// Upstream's dedicated Prometheus listener: <c>GET /metrics</c> on <c>prometheus_port</c> (all interfaces, no token,
/// like upstream's exporter), next to the API's own listener, sharing its meter provider.
/// </summary>
public sealed partial class PrometheusListener(MeterProvider meterProvider, IOptions<ObservabilityOptions> options, ILogger<PrometheusListener> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var port = options.Value.PrometheusPort;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(port));
        _app = builder.Build();
        _app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, ObservabilitySetup.MetricsPath, configureBranchedPipeline: null, optionsName: null);
        await _app.StartAsync(cancellationToken);
        LogListening(logger, port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    [LoggerMessage(EventId = 61, Level = LogLevel.Information, Message = "Prometheus metrics also served on port {Port} (/metrics, no token)")]
    private static partial void LogListening(ILogger logger, int port);
}
