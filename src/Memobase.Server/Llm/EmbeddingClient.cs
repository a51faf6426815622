using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly;

namespace Memobase.Server.Llm;

/// <summary>
/// OpenAI-compatible <c>POST {base}/embeddings</c> client (<c>{model, input: [...], encoding_format: "float", dimensions}</c>)
/// with the same per-attempt timeout and retries as <see cref="LlmClient"/> (<c>llm_timeout_seconds</c>,
/// <c>llm_max_retries</c>, <c>llm_retry_base_delay_ms</c>). Every returned vector must have <c>embedding_dim</c>
/// entries. Whether embeddings are used at all: <see cref="IsEnabled"/> (rule in <see cref="EmbeddingOptions"/>).
/// Thread-safe; register as a singleton.
/// </summary>
public sealed partial class EmbeddingClient
{
    /// <summary>Name of the <see cref="HttpClient"/> registered for embedding calls.</summary>
    public const string HttpClientName = "Memobase.Embedding";

    private readonly IHttpClientFactory _httpClients;
    private readonly LlmOptions _llm;
    private readonly EmbeddingOptions _options;
    private readonly ILogger<EmbeddingClient> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public EmbeddingClient(IHttpClientFactory httpClients, IOptions<LlmOptions> llm, IOptions<EmbeddingOptions> options, ILogger<EmbeddingClient> logger)
    {
        _httpClients = httpClients;
        _llm = llm.Value;
        _options = options.Value;
        _logger = logger;
        _pipeline = LlmHttp.BuildPipeline(_llm, logger, "embedding");
    }

    /// <summary>True when events and gists get vectors (see <see cref="EmbeddingOptions"/> for the rule).</summary>
    public bool IsEnabled => _options.IsActive(_llm);

    /// <summary><c>embedding_dim</c>.</summary>
    public int Dimension => _options.EmbeddingDim;

    /// <summary>Embeds <paramref name="inputs"/> in one request; the result is in input order. An empty list makes no request.</summary>
    /// <exception cref="InvalidOperationException">Embeddings are not enabled (check <see cref="IsEnabled"/> first).</exception>
    /// <exception cref="LlmException">The request failed after retries, the response was unusable or a vector has the wrong dimension.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!IsEnabled)
        {
            throw new InvalidOperationException("Embeddings are disabled: set enable_event_embedding and embedding_api_key (or llm_api_key) / embedding_base_url.");
        }
        if (inputs.Count == 0)
        {
            return [];
        }

        var url = LlmHttp.BuildUrl(_options.EffectiveBaseUrl(_llm), "/embeddings", EmptyQuery);
        var started = Stopwatch.GetTimestamp();
        var payload = await LlmHttp.SendAsync(_httpClients.CreateClient(HttpClientName), _pipeline, url, BuildBody(inputs),
            _options.EffectiveApiKey(_llm), EmptyHeaders, _llm.LlmTimeoutSeconds, "Embedding", ct);
        var vectors = Parse(payload, inputs.Count, _options.EmbeddingDim);
        var elapsedMs = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogEmbedded(_logger, inputs.Count, _options.EmbeddingModel, elapsedMs);
        return vectors;
    }

    private static readonly Dictionary<string, string> EmptyQuery = [];
    private static readonly Dictionary<string, string> EmptyHeaders = [];

    private byte[] BuildBody(IReadOnlyList<string> inputs)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", _options.EmbeddingModel);
            w.WriteStartArray("input");
            foreach (var input in inputs) w.WriteStringValue(input);
            w.WriteEndArray();
            w.WriteString("encoding_format", "float");
            w.WriteNumber("dimensions", _options.EmbeddingDim);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static float[][] Parse(byte[] payload, int count, int dimension)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                throw new LlmException("Embedding endpoint returned an unexpected response: no data list");
            }
            var result = new float[count][];
            var position = 0;
            foreach (var item in data.EnumerateArray())
            {
                var index = item.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : position;
                position++;
                if (index < 0 || index >= count)
                {
                    throw new LlmException($"Embedding endpoint returned an unexpected index {index} for {count} input(s)");
                }
                if (!item.TryGetProperty("embedding", out var e) || e.ValueKind != JsonValueKind.Array)
                {
                    throw new LlmException("Embedding endpoint returned an item without an embedding list");
                }
                var vector = new float[e.GetArrayLength()];
                var k = 0;
                foreach (var x in e.EnumerateArray()) vector[k++] = x.GetSingle();
                if (vector.Length != dimension)
                {
                    throw new LlmException($"Embedding dimension mismatch: got {vector.Length}, embedding_dim is {dimension}");
                }
                result[index] = vector;
            }
            for (var j = 0; j < count; j++)
            {
                if (result[j] is null) throw new LlmException($"Embedding endpoint returned {position} vector(s) for {count} input(s)");
            }
            return result;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new LlmException($"Embedding endpoint returned invalid JSON: {ex.Message}", null, ex);
        }
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Debug, Message = "Embedded {Count} input(s) with {Model} in {ElapsedMs} ms")]
    private static partial void LogEmbedded(ILogger logger, int count, string model, int elapsedMs);
}
