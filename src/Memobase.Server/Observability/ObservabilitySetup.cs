using Memobase.Server.Infrastructure;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Observability;

/// <summary>
/// OpenTelemetry wiring. Metrics (unless <c>metrics_enabled=false</c>): the server's meter plus ASP.NET Core's hosting, Kestrel
/// and diagnostics meters, HttpClient and Npgsql instrumentation, read by the Prometheus exporter behind <c>GET /metrics</c> (and by OTLP when
/// configured). Traces: only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set — then requests, jobs, LLM calls,
/// outgoing HTTP and SQL commands are exported with OTLP; otherwise no tracer provider exists and nothing is recorded.
/// The other standard <c>OTEL_*</c> variables (headers, protocol, service name) apply as usual.
/// </summary>
public static class ObservabilitySetup
{
    public const string ServiceName = "memobase-server";
    public const string MetricsPath = "/metrics";

    public static IServiceCollection AddMemobaseObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMemobaseOptions<ObservabilityOptions>();
        services.AddSingleton<ReadinessState>();
        var options = configuration.GetSection(UpstreamConfiguration.Section).Get<ObservabilityOptions>() ?? new ObservabilityOptions();
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        if (options.UseCors)
        {
            services.AddCors(o => o.AddDefaultPolicy(p => p.WithOrigins(options.CorsOrigins).AllowAnyMethod().AllowAnyHeader().AllowCredentials()
                .WithExposedHeaders(FlushOutcomeHeaders)));
        }
        if (!options.MetricsEnabled && !otlp) return services;

        var telemetry = services.AddOpenTelemetry().ConfigureResource(r => r
            .AddService(ServiceName)
            .AddAttributes([new KeyValuePair<string, object>("deployment.environment", options.TelemetryDeploymentEnvironment)]));
        if (options.MetricsEnabled)
        {
            services.AddSingleton<QueueGauges>();
            services.AddHostedService(sp => sp.GetRequiredService<QueueGauges>());
            telemetry.WithMetrics(m =>
            {
                m.AddMeter(MemobaseTelemetry.Name)
                    .AddMeter(AspNetCoreMeters)
                    .AddHttpClientInstrumentation()
                    .AddNpgsqlInstrumentation()
                    // No scrape-response cache: a scrape always shows what happened before it (Prometheus scrapes every 15 s or so).
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                if (otlp) m.AddOtlpExporter();
            });
            if (options.PrometheusPort > 0) services.AddHostedService<PrometheusListener>();
        }
        if (otlp) telemetry.WithTracing(t => ConfigureTracing(t).AddOtlpExporter());
        return services;
    }

    /// <summary>
    /// ASP.NET Core's meters on the page: <c>http_server_*</c>, <c>kestrel_*</c> and unhandled-exception counts.
    /// <c>AddAspNetCoreInstrumentation()</c> would also enable the routing, rate-limiter, authentication and
    /// authorization meters, which record on every request; their outcomes show in <c>http_server_request_duration</c>
    /// by status code anyway (429, 401, 403). Metrics and the auth stack are the two largest parts of the capacity
    /// request's server CPU growth (bench/README, issue 9 before/after); leaving these four off did not move it measurably.
    /// </summary>
    public static readonly string[] AspNetCoreMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics"];

    /// <summary>The server's trace sources and instrumentation (tests add an in-memory exporter to the same set).</summary>
    public static TracerProviderBuilder ConfigureTracing(TracerProviderBuilder tracing) => tracing
        .AddSource(MemobaseTelemetry.Name)
        .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments(MetricsPath)
            && !c.Request.Path.StartsWithSegments("/health"))
        .AddHttpClientInstrumentation()
        .AddNpgsql();

    private static readonly string[] FlushOutcomeHeaders = [MemobaseHeaders.JobId, RequestIdMiddleware.RequestIdHeader];

    /// <summary>
    /// Before routing: <c>/</c> leads to the admin console (its sign-in page links the API docs), CORS (when enabled) answers preflights before authentication,
    /// the <c>/metrics</c> guard, and the request metrics.
    /// </summary>
    public static WebApplication UseMemobaseObservability(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (context.Request.Path == "/" && HttpMethods.IsGet(context.Request.Method))
            {
                context.Response.Redirect("/admin");
                return Task.CompletedTask;
            }
            return next(context);
        });
        if (app.Services.GetService<Microsoft.AspNetCore.Cors.Infrastructure.ICorsService>() is not null) app.UseCors();
        app.UseMiddleware<MetricsAccessMiddleware>();
        app.UseMiddleware<RequestMetricsMiddleware>();
        return app;
    }

    public static WebApplication MapMemobaseObservability(this WebApplication app)
    {
        app.MapHealthProbes().AllowAnonymous();
        app.MapStatusCheck().RequireAuthorization(MemobaseAuth.Project);
        if (app.Configuration.GetSection(UpstreamConfiguration.Section).Get<ObservabilityOptions>() is not { MetricsEnabled: false })
        {
            // MetricsAccessMiddleware decides (root token, or metrics_public=true).
            app.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        }
        return app;
    }
}
