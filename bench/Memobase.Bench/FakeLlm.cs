using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Memobase.Bench;

/// <summary>
/// An OpenAI-compatible fake on 127.0.0.1: <c>POST /v1/chat/completions</c> answers with a small fixed reply per pipeline
/// stage (the "Task-ID: memobase.&lt;stage&gt;" marker of the system prompt), with a <c>usage</c> object so the server
/// does not count tokens itself (unless <see cref="OmitUsage"/>). Unknown prompts get "OK". By default it answers at
/// once; <see cref="Latency"/> adds a delay (± <see cref="LatencyJitter"/>, uniform), and <see cref="RequestsPerMinute"/>
/// turns on a provider rate limit: a token bucket refilled at limit / 60 per second holding at most 10 s worth, that
/// answers HTTP 429 with <c>Retry-After</c> (whole seconds, rounded up) when empty. Every request is recorded
/// (<see cref="Calls"/>) with its arrival time and status.
/// </summary>
internal sealed class FakeLlm : IAsyncDisposable
{
    private const string Marker = "Task-ID: memobase.";

    private const string SummaryReply =
        "- User went hiking at Lake Tahoe last weekend and enjoyed the view [mention 2026/11/21] // event\n" +
        "- User's name is Alex; works as a nurse in Reno // info";

    private const string ExtractReply =
        "The memo gives the user's name, job and a hobby.\n---\n" +
        "- basic_info::name::Alex\n- work::title::Nurse\n- interest::sports::Hiking, recently at Lake Tahoe";

    private readonly WebApplication _app;
    private readonly List<(long At, int Status)> _calls = [];
    private long _requests;
    private int _inFlight;
    private int _peakInFlight;
    private double _bucket;
    private long _bucketAt;
    private readonly Dictionary<string, long> _byStage = [];
    private readonly Lock _lock = new();

    private FakeLlm(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>e.g. <c>http://127.0.0.1:41234/v1</c>.</summary>
    public string BaseUrl { get; }

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Delay before each chat answer (zero: at once).</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Uniform jitter of <see cref="Latency"/> as a fraction (0.2: ± 20 %).</summary>
    public double LatencyJitter { get; set; }

    /// <summary>The provider's limit (0: none); see the class summary.</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Answer without a <c>usage</c> object, so the server counts prompt tokens with its o200k tokenizer.</summary>
    public bool OmitUsage { get; set; }

    /// <summary>
    /// Replies that grow with the input, as a real model's do: the entry summary is one bullet per user line of the
    /// chats, the extraction one fact per bullet (slots taken in turn from <see cref="EchoSlots"/>), the merge one
    /// APPEND per item.
    /// </summary>
    public bool EchoReplies { get; set; }

    /// <summary>The (topic, sub_topic) pairs the echo extraction files its facts under, in turn.</summary>
    public IReadOnlyList<(string Topic, string SubTopic)> EchoSlots { get; set; } = [("interest", "general")];

    /// <summary>Most chat requests in progress at once since the last <see cref="ResetCalls"/>.</summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <summary>Chat requests since the last <see cref="ResetCalls"/>: <see cref="Stopwatch"/> timestamp and HTTP status.</summary>
    public IReadOnlyList<(long At, int Status)> Calls
    {
        get
        {
            lock (_lock) return [.. _calls];
        }
    }

    /// <summary>Forgets the recorded calls and refills the provider's bucket.</summary>
    public void ResetCalls()
    {
        lock (_lock)
        {
            _calls.Clear();
            _bucket = BucketCap;
            _bucketAt = Stopwatch.GetTimestamp();
            _peakInFlight = 0;
        }
    }

    private double BucketCap => Math.Max(1, RequestsPerMinute / 6.0);

    /// <summary>Takes a token from the provider's bucket; else returns the seconds until one is there.</summary>
    private double TryTakeToken()
    {
        if (RequestsPerMinute <= 0) return 0;
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            var rate = RequestsPerMinute / 60.0;
            _bucket = Math.Min(BucketCap, _bucket + Stopwatch.GetElapsedTime(_bucketAt, now).TotalSeconds * rate);
            _bucketAt = now;
            if (_bucket >= 1)
            {
                _bucket -= 1;
                return 0;
            }
            return (1 - _bucket) / rate;
        }
    }

    public IReadOnlyDictionary<string, long> ByStage
    {
        get
        {
            lock (_lock) return new Dictionary<string, long>(_byStage);
        }
    }

    public static async Task<FakeLlm> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeLlm? self = null;
        app.MapPost("/v1/chat/completions", (HttpContext ctx) => self!.HandleAsync(ctx));
        app.MapPost("/v1/embeddings", (HttpContext ctx) => EmbedAsync(ctx));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeLlm(app, address.TrimEnd('/') + "/v1");
        return self;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _requests);
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            int peak;
            while (inFlight > (peak = Volatile.Read(ref _peakInFlight)) && Interlocked.CompareExchange(ref _peakInFlight, inFlight, peak) != peak)
            {
            }
            var wait = TryTakeToken();
            lock (_lock) _calls.Add((Stopwatch.GetTimestamp(), wait > 0 ? 429 : 200));
            if (wait > 0)
            {
                ctx.Response.StatusCode = 429;
                ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync("""{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}""");
                return;
            }
            if (Latency > TimeSpan.Zero)
            {
                var factor = 1 + LatencyJitter * (Random.Shared.NextDouble() * 2 - 1);
                await Task.Delay(Latency * factor, ctx.RequestAborted);
            }
            await AnswerAsync(ctx);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task AnswerAsync(HttpContext ctx)
    {
        using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        string system = "", user = "";
        if (doc.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in messages.EnumerateArray())
            {
                var role = m.TryGetProperty("role", out var r) ? r.GetString() : null;
                var content = m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
                if (role == "system") system = content;
                else if (role == "user") user = content;
            }
        }
        var stage = Stage(system);
        lock (_lock) _byStage[stage] = _byStage.GetValueOrDefault(stage) + 1;
        var reply = stage switch
        {
            "entry_summary" when EchoReplies => EchoSummary(user),
            "extract" when EchoReplies => EchoFacts(user),
            "entry_summary" => SummaryReply,
            "extract" => ExtractReply,
            "merge" => MergeReply(user),
            _ => "OK",
        };
        var model = doc.RootElement.TryGetProperty("model", out var mo) ? mo.GetString() ?? "" : "";

        using var buffer = new MemoryStream(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", "chatcmpl-bench");
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", 1_763_700_000);
            w.WriteString("model", model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", reply);
            w.WriteEndObject();
            w.WriteString("finish_reason", "stop");
            w.WriteEndObject();
            w.WriteEndArray();
            if (!OmitUsage)
            {
                w.WriteStartObject("usage");
                var prompt = (system.Length + user.Length) / 4;
                var completion = reply.Length / 4;
                w.WriteNumber("prompt_tokens", prompt);
                w.WriteNumber("completion_tokens", completion);
                w.WriteNumber("total_tokens", prompt + completion);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.Length;
        await ctx.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ctx.RequestAborted);
    }

    /// <summary>
    /// OpenAI's /embeddings: input <c>q:&lt;n&gt;</c> is embedded as <see cref="SyntheticVectors.Of"/>(n), any other text
    /// as the vector of its hash, with the requested <c>dimensions</c> (default 1536).
    /// </summary>
    private static async Task EmbedAsync(HttpContext ctx)
    {
        using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        var dim = doc.RootElement.TryGetProperty("dimensions", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : 1536;
        var input = doc.RootElement.GetProperty("input");
        var texts = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : [input.GetString() ?? ""];
        using var buffer = new MemoryStream(texts.Count * dim * 12);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < texts.Count; i++)
            {
                var text = texts[i];
                var seed = text.StartsWith("q:", StringComparison.Ordinal) && long.TryParse(text.AsSpan(2), out var n)
                    ? n : (long)(uint)StringComparer.Ordinal.GetHashCode(text) + (1L << 40);
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                w.WriteStartArray("embedding");
                foreach (var x in SyntheticVectors.Of(seed, dim)) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model", "bench-embedding");
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", texts.Count);
            w.WriteNumber("total_tokens", texts.Count);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.Length;
        await ctx.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ctx.RequestAborted);
    }

    private static string Stage(string system)
    {
        var at = system.IndexOf(Marker, StringComparison.Ordinal);
        if (at < 0) return "unknown";
        var end = at + Marker.Length;
        while (end < system.Length && (char.IsAsciiLetterOrDigit(system[end]) || system[end] == '_')) end++;
        return system[(at + Marker.Length)..end];
    }

    /// <summary>
    /// The echo entry summary: one bullet per user message of the chats in <paramref name="user"/>, whether the message
    /// lines carry their date (<c>[date] user: text</c>, upstream's rendering) or not (<c>user: text</c> under a date line).
    /// </summary>
    internal static string EchoSummary(string user)
    {
        var lines = user.Split('\n').Select(l => l.Trim())
            .Select(l => l.StartsWith("user: ", StringComparison.Ordinal) ? l[6..]
                : l.StartsWith('[') && l.Contains("] user: ", StringComparison.Ordinal) ? l[(l.IndexOf("] user: ", StringComparison.Ordinal) + 8)..]
                : null)
            .Where(l => l is not null)
            .Select(l => "- User said: " + l + " // info");
        return string.Join('\n', lines);
    }

    private string EchoFacts(string user)
    {
        var at = user.IndexOf(MemoHeader, StringComparison.Ordinal);
        return EchoFacts(at < 0 ? user : user[(at + MemoHeader.Length)..], EchoSlots);
    }

    /// <summary>The header after which the extraction prompt's user message holds the memo.</summary>
    private const string MemoHeader = "#### Memo";

    /// <summary>The echo extraction: one fact per bullet of <paramref name="memo"/>, filed under <paramref name="slots"/> in turn.</summary>
    internal static string EchoFacts(string memo, IReadOnlyList<(string Topic, string SubTopic)> slots)
    {
        var bullets = memo.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("- ", StringComparison.Ordinal)).ToList();
        var sb = new StringBuilder("Facts from the memo, one per line.\n---\n");
        for (var i = 0; i < bullets.Count; i++)
        {
            var (topic, subTopic) = slots[i % slots.Count];
            var words = bullets[i][2..].Replace(" // info", "", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2).Take(14);
            sb.Append("- ").Append(topic).Append("::").Append(subTopic).Append("::").Append(string.Join(' ', words)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Items of the last merge prompt (see <see cref="MergeReply"/>).</summary>
    public int LastMergeItems => Volatile.Read(ref _lastMergeItems);

    private int _lastMergeItems;

    /// <summary>
    /// The merge prompt's user message has one line per item, <c>N::TOPIC::SUBTOPIC::NEW_INFO[::CURRENT_MEMO]</c> (and
    /// indented description / update lines): answer APPEND (repeating NEW_INFO) for each.
    /// </summary>
    private string MergeReply(string user)
    {
        var sb = new StringBuilder("All items are new facts.\n---\n");
        var count = 0;
        foreach (var line in user.Split('\n'))
        {
            var parts = line.Split("::", 5);
            if (parts.Length < 4 || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var id)) continue;
            sb.Append(id).Append(". APPEND::").Append(parts[3]).Append('\n');
            count++;
        }
        Volatile.Write(ref _lastMergeItems, count);
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
