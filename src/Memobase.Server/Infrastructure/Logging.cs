using System.Globalization;
using Serilog;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;

namespace Memobase.Server.Infrastructure;

public static class Logging
{
    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>The per-request line (Serilog.AspNetCore's request logging; the path never carries the query string).</summary>
    public const string RequestTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms (request {RequestId})";

    /// <summary>Log events that may wait for the console writer; beyond this, new events are dropped rather than block a request.</summary>
    public const int QueueCapacity = 10_000;

    /// <summary>
    /// Serilog to standard output through Serilog.Sinks.Async (one background writer; the threads that log only enqueue,
    /// bounded by <see cref="QueueCapacity"/>, dropping when full): plain text by default, JSON lines with
    /// <c>LOG_FORMAT=json</c> (upstream's name) or <c>Memobase:log_format=json</c>. A <c>Serilog</c> configuration
    /// section can add sinks and levels.
    /// </summary>
    public static WebApplicationBuilder AddMemobaseLogging(this WebApplicationBuilder builder)
    {
        var json = string.Equals(builder.Configuration["Memobase:log_format"], "json", StringComparison.OrdinalIgnoreCase);
        ITextFormatter formatter = json
            ? new JsonFormatter(renderMessage: true, formatProvider: CultureInfo.InvariantCulture)
            : new MessageTemplateTextFormatter(TextTemplate, CultureInfo.InvariantCulture);
        builder.Services.AddSerilog((services, logger) => logger
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Npgsql", LogEventLevel.Warning) // command logs would carry SQL and timing noise
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning) // 4 lines per LLM call otherwise
            .MinimumLevel.Override("Polly", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext()
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .WriteTo.Async(sink => sink.Console(formatter), bufferSize: QueueCapacity, blockWhenFull: false));
        return builder;
    }

    /// <summary>
    /// One Information line per request (<see cref="RequestTemplate"/>): method, path without query string (it can
    /// carry chat contents, <c>chats_str</c>), status, duration and request id. Information whatever the status (a 503
    /// from the readiness probe while starting is not an error; errors log their own line), Error only for an exception
    /// that escaped the exception handler.
    /// </summary>
    public static WebApplication UseMemobaseRequestLogging(this WebApplication app)
    {
        app.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = RequestTemplate;
            options.IncludeQueryInRequestPath = false;
            options.GetLevel = (_, _, exception) => exception is null ? LogEventLevel.Information : LogEventLevel.Error;
            options.EnrichDiagnosticContext = (diagnostics, http) => diagnostics.Set("RequestId", http.TraceIdentifier);
        });
        return app;
    }
}
