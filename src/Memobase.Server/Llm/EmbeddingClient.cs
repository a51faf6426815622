using Memobase.Server.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Llm;

/// <summary>
/// Embeddings of events, gists and search queries through the registered <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>
/// (by default <see cref="OpenAiCompatibleProvider"/>: OpenAI-compatible <c>POST {base}/embeddings</c>,
/// <c>{model, input: [...], encoding_format: "float", dimensions}</c>, on the <see cref="HttpClientName"/> client with the
/// same per-attempt timeout and retries as chat calls: <c>llm_timeout_seconds</c>, <c>llm_max_retries</c>,
/// <c>llm_retry_base_delay_ms</c>). Every returned vector must have <c>embedding_dim</c> entries. Whether embeddings are
/// used at all: <see cref="IsEnabled"/> (rule in <see cref="EmbeddingOptions"/>). Thread-safe; register as a singleton.
/// </summary>
public sealed partial class EmbeddingClient
{
    /// <summary>Name of the <see cref="HttpClient"/> registered for embedding calls.</summary>
    public const string HttpClientName = "Memobase.Embedding";

    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly LlmOptions _llm;
    private readonly EmbeddingOptions _options;
    private readonly ILogger<EmbeddingClient> _logger;

    public EmbeddingClient(IEmbeddingGenerator<string, Embedding<float>> generator, IOptions<LlmOptions> llm, IOptions<EmbeddingOptions> options,
        ILogger<EmbeddingClient> logger)
    {
        _generator = generator;
        _llm = llm.Value;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>True when events and gists get vectors (see <see cref="EmbeddingOptions"/> for the rule).</summary>
    public bool IsEnabled => _options.IsActive(_llm);

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

        var options = new EmbeddingGenerationOptions { ModelId = _options.EmbeddingModel, Dimensions = _options.EmbeddingDim };
        if (_options.IsJina)
        {
            options.AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["task"] = query ? "retrieval.query" : "retrieval.passage",
                ["truncate"] = true,
            };
        }
        using var telemetry = LlmCallTelemetry.Start(LlmCallTelemetry.Embedding, _options.EmbeddingModel, _options.EffectiveBaseUrl(_llm));
        try
        {
            GeneratedEmbeddings<Embedding<float>> generated;
            try
            {
                generated = await _generator.GenerateAsync(inputs, options, ct);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                throw ProviderErrors.Map(ex, "Embedding", _llm.LlmTimeoutSeconds);
            }
            if (generated.Count != inputs.Count)
            {
                throw new LlmException($"Embedding endpoint returned {generated.Count} vector(s) for {inputs.Count} input(s)");
            }
            var vectors = new float[inputs.Count][];
            for (var i = 0; i < vectors.Length; i++)
            {
                vectors[i] = generated[i].Vector.ToArray();
                if (vectors[i].Length != _options.EmbeddingDim)
                {
                    throw new LlmException($"Embedding dimension mismatch: got {vectors[i].Length}, embedding_dim is {_options.EmbeddingDim}");
                }
            }
            var usedTokens = generated.Usage?.InputTokenCount is { } t and >= 0 and <= int.MaxValue ? (int)t : inputs.Sum(O200kTokenizer.Instance.CountTokens);
            telemetry.Succeeded(usedTokens, 0, null);
            LogEmbedded(_logger, inputs.Count, _options.EmbeddingModel, telemetry.ElapsedMs);
            return vectors;
        }
        catch (Exception ex)
        {
            telemetry.Failed(ex);
            throw;
        }
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Debug, Message = "Embedded {Count} input(s) with {Model} in {ElapsedMs} ms")]
    private static partial void LogEmbedded(ILogger logger, int count, string model, int elapsedMs);
}
