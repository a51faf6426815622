using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Llm;

/// <summary>
/// The OpenAI-compatible chat-completions endpoint used by the processing pipeline, under upstream's config.yaml names
/// (section <c>Memobase</c>; override with <c>MEMOBASE_&lt;KEY&gt;</c>). Keys marked "ours" do not exist upstream.
/// </summary>
public sealed class LlmOptions
{
    /// <summary>Used when <see cref="LlmBaseUrl"/> is not set.</summary>
    public const string DefaultBaseUrl = "https://api.openai.com/v1";

    /// <summary>OpenAI-compatible base URL, e.g. <c>https://api.openai.com/v1</c> (<c>/chat/completions</c> is appended). Null: OpenAI.</summary>
    [ConfigurationKeyName("llm_base_url")]
    public string? LlmBaseUrl { get; set; }

    /// <summary>Bearer token sent to the LLM endpoint. Upstream requires it; here a missing key (with no base URL) only fails processing.</summary>
    [ConfigurationKeyName("llm_api_key")]
    public string? LlmApiKey { get; set; }

    /// <summary>Model for extraction, merge, organize and event tagging.</summary>
    [ConfigurationKeyName("best_llm_model")]
    [Required]
    public string BestLlmModel { get; set; } = "gpt-4o-mini";

    /// <summary>Model for the entry summary, profile re-summary and profile filtering. Null: <see cref="BestLlmModel"/>.</summary>
    [ConfigurationKeyName("summary_llm_model")]
    public string? SummaryLlmModel { get; set; }

    /// <summary>Ours: timeout of one HTTP attempt, in seconds (upstream: 120 s, no retries).</summary>
    [ConfigurationKeyName("llm_timeout_seconds")]
    [Range(1, 3600)]
    public int LlmTimeoutSeconds { get; set; } = 120;

    /// <summary>Ours: HTTP-level retries after the first attempt, on 408/5xx, connection errors and attempt timeouts (429s are waited out instead, see <see cref="LlmRateLimitMaxWaitSeconds"/>).</summary>
    [ConfigurationKeyName("llm_max_retries")]
    [Range(0, 10)]
    public int LlmMaxRetries { get; set; } = 2;

    /// <summary>Ours: base delay of the exponential backoff (with jitter) between retries, in milliseconds.</summary>
    [ConfigurationKeyName("llm_retry_base_delay_ms")]
    [Range(0, 60_000)]
    public int LlmRetryBaseDelayMs { get; set; } = 500;

    /// <summary>Sampling temperature of every pipeline call (upstream: 0.2).</summary>
    [ConfigurationKeyName("llm_temperature")]
    [Range(0.0, 2.0)]
    public double LlmTemperature { get; set; } = 0.2;

    /// <summary>Output token limit of every pipeline call (upstream: 1024), sent as <see cref="LlmMaxTokensParameter"/>.</summary>
    [ConfigurationKeyName("llm_max_tokens")]
    [Range(1, 1_000_000)]
    public int LlmMaxTokens { get; set; } = 1024;

    /// <summary>Upstream's name of the output limit; every OpenAI-compatible server knows it.</summary>
    public const string MaxTokensParameter = "max_tokens";

    /// <summary>OpenAI's newer name of the output limit (the OpenAI SDK's), which servers that only know <c>max_tokens</c> ignore or refuse.</summary>
    public const string MaxCompletionTokensParameter = "max_completion_tokens";

    /// <summary>
    /// Ours: the request field that carries <see cref="LlmMaxTokens"/>: <c>max_tokens</c> (as upstream, understood by every
    /// OpenAI-compatible server) or <c>max_completion_tokens</c> (OpenAI's reasoning models require it).
    /// </summary>
    [ConfigurationKeyName("llm_max_tokens_parameter")]
    public string LlmMaxTokensParameter { get; set; } = MaxTokensParameter;

    /// <summary>
    /// Ours: chat completions this process has in flight at most. Jobs mostly wait for the LLM, so this, not database
    /// connections or threads, bounds how fast a process drains: about limit ÷ (3 calls × call latency) jobs per second.
    /// The effective limit adapts below it when the provider answers 429 (see <see cref="LlmThrottle"/>).
    /// </summary>
    [ConfigurationKeyName("llm_max_concurrency")]
    [Range(1, 10_000)]
    public int LlmMaxConcurrency { get; set; } = 256;

    /// <summary>Ours: requests per minute all replicas together may send (0: no budget). Calls wait for it; jobs never fail on it.</summary>
    [ConfigurationKeyName("llm_requests_per_minute")]
    [Range(0, 100_000_000)]
    public int LlmRequestsPerMinute { get; set; }

    /// <summary>Ours: prompt + completion tokens per minute all replicas together may use (0: no budget).</summary>
    [ConfigurationKeyName("llm_tokens_per_minute")]
    [Range(0, 10_000_000_000)]
    public long LlmTokensPerMinute { get; set; }

    /// <summary>
    /// Ours: how long one call keeps waiting out the provider's 429s (each wait as long as its Retry-After) before its
    /// job is handed back to the queue, after that Retry-After, without spending an attempt.
    /// </summary>
    [ConfigurationKeyName("llm_rate_limit_max_wait_seconds")]
    [Range(1, 86_400)]
    public int LlmRateLimitMaxWaitSeconds { get; set; } = 300;

    /// <summary>Extra HTTP headers sent with every LLM request.</summary>
    [ConfigurationKeyName("llm_openai_default_header")]
    public Dictionary<string, string> LlmOpenAiDefaultHeader { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Extra query-string parameters added to every LLM request.</summary>
    [ConfigurationKeyName("llm_openai_default_query")]
    public Dictionary<string, string> LlmOpenAiDefaultQuery { get; } = new(StringComparer.Ordinal);

    /// <summary>True when an API key or a base URL is set; otherwise every LLM call fails with a "not configured" error.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(LlmApiKey) || !string.IsNullOrWhiteSpace(LlmBaseUrl);

    /// <summary><see cref="LlmBaseUrl"/> or OpenAI's, without a trailing slash.</summary>
    public string EffectiveBaseUrl => (string.IsNullOrWhiteSpace(LlmBaseUrl) ? DefaultBaseUrl : LlmBaseUrl.Trim()).TrimEnd('/');

    /// <summary><see cref="SummaryLlmModel"/> or, when unset, <see cref="BestLlmModel"/>.</summary>
    public string EffectiveSummaryModel => string.IsNullOrWhiteSpace(SummaryLlmModel) ? BestLlmModel : SummaryLlmModel;
}

/// <summary>
/// Embeddings of events and gists (OpenAI-compatible <c>POST {base}/embeddings</c>).
/// </summary>
/// <remarks>
/// <para>
/// <b>When embeddings are active</b> (<see cref="IsActive"/>): <c>enable_event_embedding</c> is true (the default) <b>and</b>
/// an endpoint can be derived, i.e. at least one of <c>embedding_api_key</c>, <c>embedding_base_url</c> or
/// <c>llm_api_key</c> is set. The last one is upstream's fallback for the <c>openai</c> provider: without an
/// <c>embedding_api_key</c> the LLM key (and the LLM base URL, unless <c>embedding_base_url</c> is set) is used.
/// When inactive, events and gists are stored without vectors and no embedding request is made.
/// </para>
/// <para>
/// Endpoint resolution: base URL = <c>embedding_base_url</c>, else <c>llm_base_url</c> when no <c>embedding_api_key</c>
/// is set, else <c>https://api.openai.com/v1</c>; key = <c>embedding_api_key</c>, else <c>llm_api_key</c> (none: no
/// Authorization header, for local servers).
/// </para>
/// </remarks>
public sealed class EmbeddingOptions
{
    public const string OpenAiProvider = "openai";

    /// <summary>Upstream's providers. All are called as OpenAI-compatible <c>POST {base}/embeddings</c> endpoints.</summary>
    public static readonly string[] Providers = [OpenAiProvider, "jina", "ollama", "lmstudio"];

    /// <summary>Jina's default base URL (upstream's) when <c>embedding_base_url</c> is not set.</summary>
    public const string JinaBaseUrl = "https://api.jina.ai/v1";

    /// <summary>Store vectors for events and gists (and enable vector search). See the class remarks for when it takes effect.</summary>
    [ConfigurationKeyName("enable_event_embedding")]
    public bool EnableEventEmbedding { get; set; } = true;

    /// <summary>
    /// <c>openai</c>, <c>jina</c>, <c>ollama</c> or <c>lmstudio</c>: all are called as OpenAI-compatible <c>/embeddings</c>
    /// endpoints (Ollama: its <c>/v1</c> base URL). <c>jina</c> defaults the base URL to Jina's and sends its
    /// <c>task</c> hint (retrieval.passage for stored text, retrieval.query for searches).
    /// </summary>
    [ConfigurationKeyName("embedding_provider")]
    public string EmbeddingProvider { get; set; } = OpenAiProvider;

    /// <summary>True for <c>embedding_provider: jina</c>.</summary>
    public bool IsJina => string.Equals(EmbeddingProvider?.Trim(), "jina", StringComparison.OrdinalIgnoreCase);

    /// <summary>Base URL of the embeddings endpoint (<c>/embeddings</c> is appended).</summary>
    [ConfigurationKeyName("embedding_base_url")]
    public string? EmbeddingBaseUrl { get; set; }

    /// <summary>Bearer token of the embeddings endpoint. Null: <c>llm_api_key</c>.</summary>
    [ConfigurationKeyName("embedding_api_key")]
    public string? EmbeddingApiKey { get; set; }

    [ConfigurationKeyName("embedding_model")]
    [Required]
    public string EmbeddingModel { get; set; } = "text-embedding-3-small";

    /// <summary>Vector size: sent as <c>dimensions</c> and checked on every response.</summary>
    [ConfigurationKeyName("embedding_dim")]
    [Range(1, 16_000)]
    public int EmbeddingDim { get; set; } = 1536;

    /// <summary>
    /// Whether embeddings are computed (see the class remarks). The LLM key stands in only for the <c>openai</c>
    /// provider (as upstream): it is never sent to Jina, Ollama or LM Studio.
    /// </summary>
    public bool IsActive(LlmOptions llm) => EnableEventEmbedding
        && (!string.IsNullOrWhiteSpace(EmbeddingApiKey) || !string.IsNullOrWhiteSpace(EmbeddingBaseUrl)
            || (IsOpenAi && !string.IsNullOrWhiteSpace(llm.LlmApiKey)));

    private bool IsOpenAi => string.Equals(EmbeddingProvider?.Trim(), OpenAiProvider, StringComparison.OrdinalIgnoreCase);

    /// <summary>The base URL requests go to, without a trailing slash (see the class remarks).</summary>
    public string EffectiveBaseUrl(LlmOptions llm)
    {
        var url = !string.IsNullOrWhiteSpace(EmbeddingBaseUrl) ? EmbeddingBaseUrl
            : IsJina ? JinaBaseUrl
            : IsOpenAi && string.IsNullOrWhiteSpace(EmbeddingApiKey) && !string.IsNullOrWhiteSpace(llm.LlmBaseUrl) ? llm.LlmBaseUrl
            : LlmOptions.DefaultBaseUrl;
        return url.Trim().TrimEnd('/');
    }

    /// <summary>The bearer token requests carry, or null for none.</summary>
    public string? EffectiveApiKey(LlmOptions llm)
        => !string.IsNullOrWhiteSpace(EmbeddingApiKey) ? EmbeddingApiKey
            : IsOpenAi && !string.IsNullOrWhiteSpace(llm.LlmApiKey) ? llm.LlmApiKey : null;
}

internal sealed class LlmOptionsValidator : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.LlmBaseUrl) && !IsHttpUrl(options.LlmBaseUrl))
        {
            errors.Add($"llm_base_url: '{options.LlmBaseUrl}' is not an absolute http(s) URL.");
        }
        if (string.IsNullOrWhiteSpace(options.BestLlmModel))
        {
            errors.Add("best_llm_model: must not be empty.");
        }
        if (options.LlmMaxTokensParameter is not (LlmOptions.MaxTokensParameter or LlmOptions.MaxCompletionTokensParameter))
        {
            errors.Add($"llm_max_tokens_parameter: '{options.LlmMaxTokensParameter}' is not supported; use {LlmOptions.MaxTokensParameter} or {LlmOptions.MaxCompletionTokensParameter}.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool IsHttpUrl(string value)
        => Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

internal sealed class EmbeddingOptionsValidator : IValidateOptions<EmbeddingOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddingOptions options)
    {
        var errors = new List<string>();
        if (!EmbeddingOptions.Providers.Contains(options.EmbeddingProvider?.Trim() ?? "", StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"embedding_provider: '{options.EmbeddingProvider}' is not supported; use one of {string.Join(", ", EmbeddingOptions.Providers)} (all are called as OpenAI-compatible /embeddings endpoints).");
        }
        if (!string.IsNullOrWhiteSpace(options.EmbeddingBaseUrl) && !LlmOptionsValidator.IsHttpUrl(options.EmbeddingBaseUrl))
        {
            errors.Add($"embedding_base_url: '{options.EmbeddingBaseUrl}' is not an absolute http(s) URL.");
        }
        // A local provider has no default address: without one, its requests (and key) would go to OpenAI's URL.
        if (options.EmbeddingProvider?.Trim().ToLowerInvariant() is "ollama" or "lmstudio" && options.EnableEventEmbedding
            && string.IsNullOrWhiteSpace(options.EmbeddingBaseUrl) && !string.IsNullOrWhiteSpace(options.EmbeddingApiKey))
        {
            errors.Add($"embedding_base_url: required with embedding_provider '{options.EmbeddingProvider}' (its OpenAI-compatible base URL, " +
                       "e.g. http://localhost:11434/v1 for Ollama, http://localhost:1234/v1 for LM Studio).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
