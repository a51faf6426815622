using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Memobase.Server.Tokenization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Memobase.Server.Llm;
using Memobase.Server.Processing.Prompts;

namespace Memobase.Server.Tests.Fakes;

/// <summary>One chat-completions request received by <see cref="FakeOpenAiServer"/>.</summary>
/// <param name="Index">0-based position among all chat requests of the server (retries are separate requests).</param>
/// <param name="Model">The requested model.</param>
/// <param name="System">The system message ("" when absent).</param>
/// <param name="User">The user message ("" when absent).</param>
/// <param name="Temperature">The requested temperature, if any.</param>
/// <param name="MaxTokens">The requested max_tokens, if any.</param>
/// <param name="Headers">Request headers (e.g. Authorization, configured default headers).</param>
/// <param name="Query">The raw query string ("" or starting with '?').</param>
public sealed record FakeChatRequest(
    int Index, string Model, string System, string User, double? Temperature, int? MaxTokens,
    IReadOnlyDictionary<string, string> Headers, string Query)
{
    /// <summary>When the request arrived.</summary>
    public DateTimeOffset ReceivedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The requested max_completion_tokens (OpenAI's newer name of the output limit), if any.</summary>
    public int? MaxCompletionTokens { get; init; }

    /// <summary>The pipeline stage of the prompt (<see cref="PromptStages"/>), or null for foreign prompts.</summary>
    public string? Stage => PromptStages.Detect(System);
}

/// <summary>One item of a merge prompt as <see cref="FakeOpenAiServer.ParseMergeItems"/> reads it (null: not sent).</summary>
public sealed record FakeMergeItem(
    int MemoId, string Topic, string SubTopic, string NewInfo, string? CurrentMemo, string? TopicDescription, string? UpdateInstruction);

/// <summary>One embeddings request received by <see cref="FakeOpenAiServer"/>.</summary>
/// <param name="Task">Jina's <c>task</c> hint, when sent.</param>
public sealed record FakeEmbeddingRequest(
    int Index, string Model, IReadOnlyList<string> Inputs, int? Dimensions, string? EncodingFormat, IReadOnlyDictionary<string, string> Headers,
    string? Task = null);

/// <summary>What <see cref="FakeOpenAiServer"/> answers to one request. Build with the static factory members.</summary>
public abstract record FakeReply
{
    /// <summary>The stage-aware default answer (see <see cref="FakeOpenAiServer.DefaultChatReply"/>) or default vectors.</summary>
    public static FakeReply Default { get; } = new DefaultReply();

    /// <summary>A 200 chat completion with <paramref name="content"/>. Usage numbers: given, else o200k counts of the prompt and content.</summary>
    public static FakeReply Text(string content, int? promptTokens = null, int? completionTokens = null)
        => new TextReply(content, promptTokens, completionTokens, IncludeUsage: true);

    /// <summary>A 200 chat completion without a <c>usage</c> object (the client must count tokens itself).</summary>
    public static FakeReply TextWithoutUsage(string content) => new TextReply(content, null, null, IncludeUsage: false);

    /// <summary>A 200 embeddings response with exactly these vectors.</summary>
    public static FakeReply Vectors(IReadOnlyList<float[]> vectors) => new VectorsReply(vectors);

    /// <summary>An HTTP error with an OpenAI-style error body (or <paramref name="body"/>), optionally with Retry-After.</summary>
    public static FakeReply Status(int statusCode, string? body = null, TimeSpan? retryAfter = null) => new StatusReply(statusCode, body, retryAfter);

    /// <summary>Waits <paramref name="delay"/> (abandoned when the client gives up), then answers <paramref name="then"/> (default: the default reply).</summary>
    public static FakeReply Delay(TimeSpan delay, FakeReply? then = null) => new DelayReply(delay, then ?? Default);

    /// <summary>Holds the response until <paramref name="gate"/> completes (abandoned when the client gives up), then answers <paramref name="then"/>.</summary>
    public static FakeReply WaitFor(Task gate, FakeReply? then = null) => new GateReply(gate, then ?? Default);

    /// <summary>A 200 response whose body is not valid JSON.</summary>
    public static FakeReply MalformedJson(string body = "{\"choices\": [ this is not json") => new MalformedReply(body);

    internal sealed record DefaultReply : FakeReply;

    internal sealed record TextReply(string Content, int? PromptTokens, int? CompletionTokens, bool IncludeUsage) : FakeReply;

    internal sealed record VectorsReply(IReadOnlyList<float[]> Items) : FakeReply;

    internal sealed record StatusReply(int StatusCode, string? Body, TimeSpan? RetryAfter) : FakeReply;

    internal sealed record DelayReply(TimeSpan Wait, FakeReply Then) : FakeReply;

    internal sealed record MalformedReply(string Body) : FakeReply;

    internal sealed record GateReply(Task Gate, FakeReply Then) : FakeReply;
}

/// <summary>
/// A real HTTP, OpenAI-compatible fake on <c>http://127.0.0.1:&lt;free port&gt;</c> (Kestrel): <c>POST /v1/chat/completions</c>
/// and <c>POST /v1/embeddings</c>. Point the server at <see cref="BaseUrl"/> (<c>llm_base_url</c> / <c>embedding_base_url</c>).
/// </summary>
/// <remarks>
/// <para>Scripting: set <see cref="ChatHandler"/> / <see cref="EmbeddingHandler"/> (may be changed at any time; called
/// concurrently). Return <see cref="FakeReply.Default"/> to fall back to the stage-aware defaults:</para>
/// <list type="bullet">
/// <item>entry_summary: one line <c>- [date] &lt;message line&gt; // info</c> per input message line, the date taken from the
/// <c>[date]</c> line above it (so gists = the chat lines as a blob renders them);</item>
/// <item>extract: <c>---</c> then <see cref="DefaultFacts"/> (basic_info::name::Gus, interest::foods::Likes pizza);</item>
/// <item>merge: per input item (<see cref="ParseMergeItems"/>) <c>N. UPDATE::new_info</c> when the slot is empty, else <c>N. APPEND::new_info</c>;</item>
/// <item>event_tagging: <c>- &lt;first listed tag&gt;::happy</c>;</item>
/// <item>organize: the first 3 input lines unchanged; resummary: <c>Summary: </c> + the first 8 words;</item>
/// <item>profile_filter: <c>{"reason": "default", "ids": [0, 1, 2]}</c> (limited to the listed entries);</item>
/// <item>anything else: <c>OK</c>.</item>
/// </list>
/// <para>Embeddings default to deterministic unit vectors seeded by a hash of each input (or, with
/// <see cref="ConstantEmbeddings"/>, the same vector for every input), of <see cref="EmbeddingDimension"/> entries
/// (null: the request's <c>dimensions</c>, else 1536). Every request is recorded (thread-safe) for assertions. A handler
/// that throws produces an HTTP 500 and is recorded in <see cref="HandlerErrors"/>.</para>
/// </remarks>
public sealed partial class FakeOpenAiServer : IAsyncDisposable
{
    /// <summary>The facts of the default extraction reply (topic, sub_topic, memo).</summary>
    public static readonly IReadOnlyList<(string Topic, string SubTopic, string Memo)> DefaultFacts =
        [("basic_info", "name", "Gus"), ("interest", "foods", "Likes pizza")];

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<FakeChatRequest> _chat = [];
    private readonly List<FakeEmbeddingRequest> _embeddings = [];
    private readonly List<Exception> _errors = [];

    private FakeOpenAiServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The OpenAI-style base URL, e.g. <c>http://127.0.0.1:41234/v1</c> (no trailing slash).</summary>
    public string BaseUrl { get; }

    /// <summary>Scripts chat replies; null (default) means <see cref="FakeReply.Default"/> for every request.</summary>
    public Func<FakeChatRequest, FakeReply>? ChatHandler { get; set; }

    /// <summary>Scripts embedding replies; null (default) means <see cref="FakeReply.Default"/> (deterministic vectors).</summary>
    public Func<FakeEmbeddingRequest, FakeReply>? EmbeddingHandler { get; set; }

    /// <summary>Vector size of default embeddings; null: the request's <c>dimensions</c>, else 1536.</summary>
    public int? EmbeddingDimension { get; set; }

    /// <summary>Default embeddings are one constant unit vector for every input (cosine similarity 1 between any two).</summary>
    public bool ConstantEmbeddings { get; set; }

    /// <summary>Starts a fake on a free loopback port.</summary>
    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(FakeOpenAiServer).Assembly.GetName().Name });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeOpenAiServer? server = null;
        app.MapPost("/v1/chat/completions", (HttpContext ctx) => server!.HandleChatAsync(ctx));
        app.MapPost("/v1/embeddings", (HttpContext ctx) => server!.HandleEmbeddingsAsync(ctx));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeOpenAiServer(app, address.TrimEnd('/') + "/v1");
        return server;
    }

    /// <summary>A snapshot of the chat requests received so far, in arrival order.</summary>
    public IReadOnlyList<FakeChatRequest> ChatRequests
    {
        get
        {
            lock (_lock) return [.. _chat];
        }
    }

    /// <summary>A snapshot of the embedding requests received so far, in arrival order.</summary>
    public IReadOnlyList<FakeEmbeddingRequest> EmbeddingRequests
    {
        get
        {
            lock (_lock) return [.. _embeddings];
        }
    }

    /// <summary>Exceptions thrown by the handlers (each answered with HTTP 500).</summary>
    public IReadOnlyList<Exception> HandlerErrors
    {
        get
        {
            lock (_lock) return [.. _errors];
        }
    }

    /// <summary>The pipeline stage of a request (<see cref="PromptStages"/> names), or null.</summary>
    public static string? Stage(FakeChatRequest request) => request.Stage;

    /// <summary>The chat requests of one stage.</summary>
    public IReadOnlyList<FakeChatRequest> RequestsFor(string stage) => ChatRequests.Where(r => r.Stage == stage).ToList();

    /// <summary>How many chat requests of one stage were received.</summary>
    public int CountStage(string stage) => RequestsFor(stage).Count;

    /// <summary>Forgets recorded requests and errors (handlers and settings stay).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _chat.Clear();
            _embeddings.Clear();
            _errors.Clear();
        }
    }

    /// <summary>The stage-aware default answer text for <paramref name="request"/> (see the class remarks).</summary>
    public static string DefaultChatReply(FakeChatRequest request)
    {
        switch (request.Stage)
        {
            case PromptStages.EntrySummary:
            {
                // The chats come grouped under [date] lines; each message line is logged with its date in front.
                var lines = new List<string>();
                string? date = null;
                foreach (var line in Section(request.User, "### Input Chats").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
                {
                    if (DateLine().IsMatch(line)) date = line;
                    else lines.Add(date is null ? $"- {line} // info" : $"- {date} {line} // info");
                }
                return string.Join('\n', lines);
            }
            case PromptStages.Extract:
                return "The memo reveals the user's name and a food preference.\n---\n"
                    + string.Join('\n', DefaultFacts.Select(f => $"- {f.Topic}::{f.SubTopic}::{f.Memo}"));
            case PromptStages.Merge:
            {
                var lines = ParseMergeItems(request.User).Select(i => $"{i.MemoId}. {(i.CurrentMemo is null ? "UPDATE" : "APPEND")}::{i.NewInfo}");
                return "Default decisions.\n---\n" + string.Join('\n', lines);
            }
            case PromptStages.EventTagging:
            {
                var tag = TagLine().Match(request.System);
                return tag.Success ? $"- {tag.Groups[1].Value}::happy" : "";
            }
            case PromptStages.Organize:
                return string.Join('\n', request.User.Split('\n').Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Take(3));
            case PromptStages.Resummary:
                return "Summary: " + string.Join(' ', request.User.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Take(8));
            case PromptStages.ProfileFilter:
            {
                var count = request.User.Split('\n').Count(l => NumberedEntry().IsMatch(l));
                return JsonSerializer.Serialize(new { reason = "default", ids = Enumerable.Range(0, Math.Min(3, count)).ToArray() });
            }
            default:
                return "OK";
        }
    }

    /// <summary>
    /// Reads the merge prompt's user message back (<see cref="MergePrompt.User"/>): item lines
    /// <c>N::TOPIC::SUBTOPIC::NEW_INFO[::CURRENT_MEMO]</c>, each possibly followed by a description and an update line.
    /// </summary>
    public static IReadOnlyList<FakeMergeItem> ParseMergeItems(string user, string separator = "::")
    {
        var items = new List<FakeMergeItem>();
        foreach (var line in user.Split('\n'))
        {
            if (line.StartsWith(MergePrompt.DescriptionLabel, StringComparison.Ordinal) && items.Count > 0)
            {
                items[^1] = items[^1] with { TopicDescription = line[MergePrompt.DescriptionLabel.Length..] };
                continue;
            }
            if (line.StartsWith(MergePrompt.UpdateLabel, StringComparison.Ordinal) && items.Count > 0)
            {
                items[^1] = items[^1] with { UpdateInstruction = line[MergePrompt.UpdateLabel.Length..] };
                continue;
            }
            var parts = line.Split(separator, 5);
            if (parts.Length < 4 || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var id)) continue;
            items.Add(new FakeMergeItem(id, parts[1], parts[2], parts[3], parts.Length == 5 ? parts[4] : null, null, null));
        }
        return items;
    }

    private static string Section(string text, string heading)
    {
        var at = text.IndexOf(heading, StringComparison.Ordinal);
        return at < 0 ? "" : text[(at + heading.Length)..];
    }

    [GeneratedRegex(@"(?m)^- ([^\s(]+)\(")]
    private static partial Regex TagLine();

    [GeneratedRegex(@"^\[[^\]]*\]$")]
    private static partial Regex DateLine();

    [GeneratedRegex(@"^\d+\. ")]
    private static partial Regex NumberedEntry();

    private async Task HandleChatAsync(HttpContext ctx)
    {
        var (parsed, body) = await ReadJsonAsync(ctx);
        if (!parsed) return;
        var messages = body?["messages"]?.AsArray() ?? [];
        string Message(string role) => messages.Where(m => (string?)m?["role"] == role).Select(m => (string?)m?["content"] ?? "").FirstOrDefault() ?? "";
        FakeChatRequest request;
        lock (_lock)
        {
            request = new FakeChatRequest(_chat.Count, (string?)body?["model"] ?? "", Message("system"), Message("user"),
                (double?)body?["temperature"], (int?)body?["max_tokens"], Headers(ctx), ctx.Request.QueryString.Value ?? "")
            {
                MaxCompletionTokens = (int?)body?["max_completion_tokens"],
            };
            _chat.Add(request);
        }
        if (await InvokeAsync(ChatHandler, request, ctx) is { } reply) await WriteChatAsync(ctx, request, reply);
    }

    /// <summary>Runs a script handler; one that throws is recorded in <see cref="HandlerErrors"/> and answered with HTTP 500 (null).</summary>
    private async Task<FakeReply?> InvokeAsync<T>(Func<T, FakeReply>? handler, T request, HttpContext ctx)
    {
        try
        {
            return handler?.Invoke(request) ?? FakeReply.Default;
        }
        catch (Exception ex)
        {
            lock (_lock) _errors.Add(ex);
            await WriteStatusAsync(ctx, 500, $"fake handler threw: {ex.Message}", null);
            return null;
        }
    }

    private static async Task WriteChatAsync(HttpContext ctx, FakeChatRequest request, FakeReply reply)
    {
        switch (reply)
        {
            case FakeReply.DelayReply d:
                try
                {
                    await Task.Delay(d.Wait, ctx.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return; // the client gave up
                }
                await WriteChatAsync(ctx, request, d.Then);
                return;
            case FakeReply.GateReply g:
                try
                {
                    await g.Gate.WaitAsync(ctx.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                await WriteChatAsync(ctx, request, g.Then);
                return;
            case FakeReply.StatusReply s:
                await WriteStatusAsync(ctx, s.StatusCode, s.Body, s.RetryAfter);
                return;
            case FakeReply.MalformedReply m:
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync(m.Body);
                return;
            case FakeReply.TextReply t:
                await WriteCompletionAsync(ctx, request, t.Content, t.PromptTokens, t.CompletionTokens, t.IncludeUsage);
                return;
            case FakeReply.DefaultReply:
                await WriteCompletionAsync(ctx, request, DefaultChatReply(request), null, null, includeUsage: true);
                return;
            default:
                await WriteStatusAsync(ctx, 500, $"reply {reply.GetType().Name} is not valid for chat completions", null);
                return;
        }
    }

    private static async Task WriteCompletionAsync(HttpContext ctx, FakeChatRequest request, string content, int? promptTokens, int? completionTokens, bool includeUsage)
    {
        var tokenizer = O200kTokenizer.Instance;
        var response = new JsonObject
        {
            ["id"] = "chatcmpl-fake-" + request.Index,
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = request.Model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                ["finish_reason"] = "stop",
            }),
        };
        if (includeUsage)
        {
            var prompt = promptTokens ?? tokenizer.CountTokens(request.System) + tokenizer.CountTokens(request.User);
            var completion = completionTokens ?? tokenizer.CountTokens(content);
            response["usage"] = new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
        }
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(response.ToJsonString());
    }

    private async Task HandleEmbeddingsAsync(HttpContext ctx)
    {
        var (parsed, body) = await ReadJsonAsync(ctx);
        if (!parsed) return;
        var inputNode = body?["input"];
        IReadOnlyList<string> inputs = inputNode switch
        {
            JsonArray a => a.Select(x => (string?)x ?? "").ToList(),
            JsonValue v => [(string?)v ?? ""],
            _ => [],
        };
        FakeEmbeddingRequest request;
        lock (_lock)
        {
            request = new FakeEmbeddingRequest(_embeddings.Count, (string?)body?["model"] ?? "", inputs, (int?)body?["dimensions"],
                (string?)body?["encoding_format"], Headers(ctx), (string?)body?["task"]);
            _embeddings.Add(request);
        }
        if (await InvokeAsync(EmbeddingHandler, request, ctx) is { } reply) await WriteEmbeddingsAsync(ctx, request, reply);
    }

    private async Task WriteEmbeddingsAsync(HttpContext ctx, FakeEmbeddingRequest request, FakeReply reply)
    {
        switch (reply)
        {
            case FakeReply.DelayReply d:
                try
                {
                    await Task.Delay(d.Wait, ctx.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                await WriteEmbeddingsAsync(ctx, request, d.Then);
                return;
            case FakeReply.StatusReply s:
                await WriteStatusAsync(ctx, s.StatusCode, s.Body, s.RetryAfter);
                return;
            case FakeReply.MalformedReply m:
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync(m.Body);
                return;
            case FakeReply.VectorsReply v:
                await WriteVectorsAsync(ctx, request, v.Items);
                return;
            case FakeReply.DefaultReply:
                var dim = EmbeddingDimension ?? request.Dimensions ?? 1536;
                await WriteVectorsAsync(ctx, request, request.Inputs.Select(i => ConstantEmbeddings ? ConstantVector(dim) : HashVector(i, dim)).ToList());
                return;
            default:
                await WriteStatusAsync(ctx, 500, $"reply {reply.GetType().Name} is not valid for embeddings", null);
                return;
        }
    }

    private static async Task WriteVectorsAsync(HttpContext ctx, FakeEmbeddingRequest request, IReadOnlyList<float[]> vectors)
    {
        var data = new JsonArray();
        for (var i = 0; i < vectors.Count; i++)
        {
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = new JsonArray(vectors[i].Select(x => (JsonNode)x).ToArray()) });
        }
        var tokens = request.Inputs.Sum(O200kTokenizer.Instance.CountTokens);
        var response = new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = request.Model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(response.ToJsonString());
    }

    /// <summary>A unit vector seeded by the SHA-256 of <paramref name="input"/> (same input, same vector).</summary>
    public static float[] HashVector(string input, int dimension)
    {
        var seed = BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(input)), 0);
        var random = new Random(seed);
        var v = new float[dimension];
        double norm = 0;
        for (var i = 0; i < dimension; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
            norm += v[i] * v[i];
        }
        var scale = (float)(1 / Math.Sqrt(norm));
        for (var i = 0; i < dimension; i++) v[i] *= scale;
        return v;
    }

    /// <summary>The constant unit vector used with <see cref="ConstantEmbeddings"/>.</summary>
    public static float[] ConstantVector(int dimension)
    {
        var v = new float[dimension];
        Array.Fill(v, (float)(1 / Math.Sqrt(dimension)));
        return v;
    }

    /// <summary>The request's JSON body; on malformed JSON answers 400 and returns false.</summary>
    private static async Task<(bool Parsed, JsonNode? Body)> ReadJsonAsync(HttpContext ctx)
    {
        try
        {
            return (true, await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted));
        }
        catch (JsonException)
        {
            await WriteStatusAsync(ctx, 400, null, null);
            return (false, null);
        }
    }

    private static async Task WriteStatusAsync(HttpContext ctx, int status, string? body, TimeSpan? retryAfter)
    {
        ctx.Response.StatusCode = status;
        if (retryAfter is { } ra) ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(ra.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body ?? JsonSerializer.Serialize(new { error = new { message = $"fake error {status}", type = "fake_error", code = status } }));
    }

    private static Dictionary<string, string> Headers(HttpContext ctx)
        => ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
