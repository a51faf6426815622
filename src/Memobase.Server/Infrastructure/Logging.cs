using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Serilog;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;
using Serilog.Parsing;

namespace Memobase.Server.Infrastructure;

public static class Logging
{
    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Serilog to standard output through <see cref="BackgroundConsoleSink"/>: plain text by default, JSON lines with
    /// <c>LOG_FORMAT=json</c> (upstream's name) or <c>Memobase:log_format=json</c>. A <c>Serilog</c> configuration
    /// section can add sinks and levels.
    /// </summary>
    public static WebApplicationBuilder AddMemobaseLogging(this WebApplicationBuilder builder)
    {
        var json = string.Equals(builder.Configuration["Memobase:log_format"], "json", StringComparison.OrdinalIgnoreCase);
        ITextFormatter formatter = json
            ? new JsonFormatter(renderMessage: true, formatProvider: CultureInfo.InvariantCulture)
            : new MessageTemplateTextFormatter(TextTemplate, CultureInfo.InvariantCulture);
        var logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Npgsql", LogEventLevel.Warning) // command logs would carry SQL and timing noise
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning) // 4 lines per LLM call otherwise
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext()
            .ReadFrom.Configuration(builder.Configuration)
            .WriteTo.Sink(new BackgroundConsoleSink(formatter, Console.OpenStandardOutput()))
            .CreateLogger();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true); // disposing the logger drains the sink
        return builder;
    }
}

/// <summary>
/// Writes log events from one background thread: the threads that log only enqueue (no console lock and no write call on
/// a request thread; with one line per request, 32 request threads contending for the console lock stalled each other
/// behind a preempted holder). The writer formats whatever is waiting and writes it with one call. Bounded: when
/// <see cref="Capacity"/> events are waiting, new ones are dropped, counted and reported in the log. Disposing drains
/// the queue (up to 5 s).
/// </summary>
public sealed class BackgroundConsoleSink : ILogEventSink, IDisposable
{
    private const int MaxBatchChars = 64 * 1024;
    private static readonly MessageTemplate DroppedTemplate =
        new MessageTemplateParser().Parse("{DroppedEvents} log events were dropped: more than {Capacity} were waiting to be written");

    private readonly Channel<LogEvent> _queue;
    private readonly ITextFormatter _formatter;
    private readonly Stream _output;
    private readonly Thread _writer;
    private long _dropped;

    public BackgroundConsoleSink(ITextFormatter formatter, Stream output, int capacity = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _formatter = formatter;
        _output = output;
        _queue = Channel.CreateBounded<LogEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of blocking: the event is counted as dropped
        });
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "Log writer" };
        _writer.Start();
    }

    public int Capacity { get; }

    public void Emit(LogEvent logEvent)
    {
        if (!_queue.Writer.TryWrite(logEvent)) Interlocked.Increment(ref _dropped);
    }

    private void WriteLoop()
    {
        var reader = _queue.Reader;
        var batch = new StringWriter(new StringBuilder(4096), CultureInfo.InvariantCulture);
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (batch.GetStringBuilder().Length < MaxBatchChars && reader.TryRead(out var logEvent)) Format(logEvent, batch);
            var dropped = Interlocked.Exchange(ref _dropped, 0);
            if (dropped > 0)
            {
                Format(new LogEvent(DateTimeOffset.Now, LogEventLevel.Warning, null, DroppedTemplate,
                [
                    new LogEventProperty("DroppedEvents", new ScalarValue(dropped)),
                    new LogEventProperty("Capacity", new ScalarValue(Capacity)),
                    new LogEventProperty("SourceContext", new ScalarValue(typeof(BackgroundConsoleSink).FullName)),
                ]), batch);
            }
            try
            {
                _output.Write(Encoding.UTF8.GetBytes(batch.ToString()));
                _output.Flush();
            }
            catch (Exception ex) // logging must never take the process down (an exception here would end the thread and the process)
            {
                SelfLog.WriteLine("Log output failed: {0}", ex.Message); // stdout gone: nothing better to do
            }
            batch.GetStringBuilder().Clear();
        }
    }

    private void Format(LogEvent logEvent, StringWriter batch)
    {
        try
        {
            _formatter.Format(logEvent, batch);
        }
        catch (Exception ex) // a property that cannot be rendered loses its line, not the writer thread
        {
            SelfLog.WriteLine("Log event could not be formatted: {0}", ex.Message);
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.Join(TimeSpan.FromSeconds(5));
    }
}
