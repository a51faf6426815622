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
/// An instant OpenAI-compatible fake on 127.0.0.1: <c>POST /v1/chat/completions</c> answers at once with a small fixed
/// reply per pipeline stage (the "Task-ID: memobase.&lt;stage&gt;" marker of the system prompt), with a <c>usage</c> object
/// so the server does not count tokens itself. Unknown prompts get "OK".
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
    private long _requests;
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
            w.WriteStartObject("usage");
            var prompt = (system.Length + user.Length) / 4;
            var completion = reply.Length / 4;
            w.WriteNumber("prompt_tokens", prompt);
            w.WriteNumber("completion_tokens", completion);
            w.WriteNumber("total_tokens", prompt + completion);
            w.WriteEndObject();
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

    /// <summary>The merge prompt's user message is a JSON list of items: answer APPEND (repeating new_info) for each.</summary>
    private static string MergeReply(string user)
    {
        var sb = new StringBuilder("All items are new facts.\n---\n");
        var start = user.IndexOf('[', StringComparison.Ordinal);
        if (start < 0) return sb.ToString();
        try
        {
            using var items = JsonDocument.Parse(user.AsMemory(start));
            foreach (var item in items.RootElement.EnumerateArray())
            {
                var id = item.TryGetProperty("memo_id", out var i) ? i.GetInt32() : 0;
                var info = item.TryGetProperty("new_info", out var n) ? n.GetString() : "";
                sb.Append(id).Append(". APPEND::").Append(info).Append('\n');
            }
        }
        catch (JsonException)
        {
            // not the expected shape: answer with no decisions
        }
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
