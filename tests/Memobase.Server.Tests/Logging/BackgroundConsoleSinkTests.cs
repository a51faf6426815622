using System.Globalization;
using System.Text;
using Memobase.Server.Infrastructure;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;
using Serilog.Parsing;

namespace Memobase.Server.Tests.Logging;

public sealed class BackgroundConsoleSinkTests
{
    private static readonly MessageTemplateTextFormatter Text = new(Memobase.Server.Infrastructure.Logging.TextTemplate, CultureInfo.InvariantCulture);

    private static LogEvent Event(int n, LogEventLevel level = LogEventLevel.Information) => new(
        DateTimeOffset.Now, level, null, new MessageTemplateParser().Parse("request {N} of {Name}"),
        [new LogEventProperty("N", new ScalarValue(n)), new LogEventProperty("Name", new ScalarValue("x")),
         new LogEventProperty("SourceContext", new ScalarValue("Test.Context"))]);

    [Fact]
    public void Writes_every_event_in_order_and_drains_on_dispose()
    {
        var output = new MemoryStream();
        using (var sink = new BackgroundConsoleSink(Text, output))
        {
            for (var i = 0; i < 500; i++) sink.Emit(Event(i));
        }
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(500, lines.Length);
        for (var i = 0; i < 500; i++)
        {
            Assert.Matches(@"^\[\d\d:\d\d:\d\d INF\] Test\.Context: request " + i + " of x$", lines[i]);
        }
    }

    [Fact]
    public void Json_lines_carry_the_rendered_message_and_properties()
    {
        var output = new MemoryStream();
        using (var sink = new BackgroundConsoleSink(new JsonFormatter(renderMessage: true, formatProvider: CultureInfo.InvariantCulture), output))
        {
            sink.Emit(Event(7, LogEventLevel.Warning));
        }
        var line = Encoding.UTF8.GetString(output.ToArray()).Trim();
        var json = System.Text.Json.Nodes.JsonNode.Parse(line)!;
        Assert.Equal("Warning", json["Level"]!.GetValue<string>());
        Assert.Equal("request 7 of \"x\"", json["RenderedMessage"]!.GetValue<string>());
        Assert.Equal(7, json["Properties"]!["N"]!.GetValue<int>());
    }

    [Fact]
    public void When_the_queue_is_full_events_are_dropped_counted_and_reported_without_blocking_the_caller()
    {
        using var output = new BlockingStream();
        using (var sink = new BackgroundConsoleSink(Text, output, capacity: 4))
        {
            sink.Emit(Event(0));
            Assert.True(output.Entered.Wait(TimeSpan.FromSeconds(10)), "writer never wrote");
            // The writer is stuck in its first write: 4 events fit in the queue, the other 6 are dropped at once.
            var started = DateTime.UtcNow;
            for (var i = 1; i <= 10; i++) sink.Emit(Event(i));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "Emit blocked");
            output.Release.Set();
        }
        var text = output.Text;
        for (var i = 0; i <= 4; i++) Assert.Contains($"request {i} of", text);
        for (var i = 5; i <= 10; i++) Assert.DoesNotContain($"request {i} of", text);
        Assert.Contains("WRN] Memobase.Server.Infrastructure.BackgroundConsoleSink: 6 log events were dropped: more than 4 were waiting", text);
    }

    /// <summary>A stream whose first write blocks until <see cref="Release"/> is set.</summary>
    private sealed class BlockingStream : MemoryStream
    {
        public SemaphoreSlim Entered { get; } = new(0);
        public ManualResetEventSlim Release { get; } = new();
        private readonly StringBuilder _text = new();

        public string Text { get { lock (_text) return _text.ToString(); } }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Entered.Release();
            Release.Wait(TimeSpan.FromSeconds(30));
            lock (_text) _text.Append(Encoding.UTF8.GetString(buffer));
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Entered.Dispose();
                Release.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
