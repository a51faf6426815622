using System.Globalization;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace Memobase.Server.Infrastructure;

public static class Logging
{
    /// <summary>
    /// Serilog to the console: plain text by default, JSON lines with <c>LOG_FORMAT=json</c> (upstream's name) or
    /// <c>Memobase:log_format=json</c>. A <c>Serilog</c> configuration section can add sinks and levels.
    /// </summary>
    public static WebApplicationBuilder AddMemobaseLogging(this WebApplicationBuilder builder)
    {
        var json = string.Equals(builder.Configuration["Memobase:log_format"], "json", StringComparison.OrdinalIgnoreCase);
        var config = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Npgsql", LogEventLevel.Warning) // command logs would carry SQL and timing noise
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning) // 4 lines per LLM call otherwise
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext()
            .ReadFrom.Configuration(builder.Configuration);
        config = json
            ? config.WriteTo.Console(new JsonFormatter(renderMessage: true, formatProvider: CultureInfo.InvariantCulture))
            : config.WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                formatProvider: CultureInfo.InvariantCulture);
        var logger = config.CreateLogger();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);
        return builder;
    }
}
