using System.Text.Json;
using Memobase.Server.Observability;
using Memobase.Server.Tokenization;
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
    /// <param name="query">True for a search query, false for stored text (Jina's <c>task</c> hint: retrieval.query / retrieval.passage).</param>
    /// <exception cref="InvalidOperationException">Embeddings are not enabled (check <see cref="IsEnabled"/> first).</exception>
    /// <exception cref="LlmException">The request failed after retries, the response was unusable or a vector has the wrong dimension.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken ct, bool query = false)
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

        var baseUrl = _options.EffectiveBaseUrl(_llm);
        var url = LlmHttp.BuildUrl(baseUrl, "/embeddings", EmptyQuery);
        using var telemetry = LlmCallTelemetry.Start(LlmCallTelemetry.Embedding, _options.EmbeddingModel, baseUrl);
        try
        {
            var payload = await LlmHttp.SendAsync(_httpClients.CreateClient(HttpClientName), _pipeline, url, BuildBody(inputs, query),
                _options.EffectiveApiKey(_llm), EmptyHeaders, _llm.LlmTimeoutSeconds, "Embedding", ct);
            var (vectors, usedTokens) = Parse(payload, inputs.Count, _options.EmbeddingDim);
            telemetry.Succeeded(usedTokens ?? inputs.Sum(O200kTokenizer.Instance.CountTokens), 0, null);
            LogEmbedded(_logger, inputs.Count, _options.EmbeddingModel, telemetry.ElapsedMs);
            return vectors;
        }
        catch (Exception ex)
        {
            telemetry.Failed(ex);
            throw;
        }
    }

    private static readonly Dictionary<string, string> EmptyQuery = [];
    private static readonly Dictionary<string, string> EmptyHeaders = [];

    private byte[] BuildBody(IReadOnlyList<string> inputs, bool query)
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
            if (_options.IsJina)
            {
                w.WriteString("task", query ? "retrieval.query" : "retrieval.passage");
                w.WriteBoolean("truncate", true);
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static (float[][] Vectors, int? PromptTokens) Parse(byte[] payload, int count, int dimension)
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
            int? tokens = doc.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("prompt_tokens", out var pt) && pt.ValueKind == JsonValueKind.Number && pt.TryGetInt32(out var ptv) ? ptv : null;
            return (result, tokens);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new LlmException($"Embedding endpoint returned invalid JSON: {ex.Message}", null, ex);
        }
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Debug, Message = "Embedded {Count} input(s) with {Model} in {ElapsedMs} ms")]
    private static partial void LogEmbedded(ILogger logger, int count, string model, int elapsedMs);
}
