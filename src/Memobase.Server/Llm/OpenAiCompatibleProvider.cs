using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;

namespace Memobase.Server.Llm;

#pragma warning disable OPENAI001, SCME0001 // JsonPatch (the request rewrites below) is experimental

/// <summary>
/// The default provider: OpenAI-compatible endpoints through the OpenAI SDK (chat: Microsoft.Extensions.AI.OpenAI's
/// <see cref="IChatClient"/>; embeddings: a small <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over the SDK). The SDK
/// gets the named HTTP clients of <see cref="LlmClient"/> and <see cref="EmbeddingClient"/> (resilience handler,
/// per-attempt timeout, reply repair) and neither retries nor logs itself. A deployment that plugs in another provider registers
/// its own <see cref="IChatClient"/> / <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (it may wrap these).
/// </summary>
public static class OpenAiCompatibleProvider
{
    /// <summary>
    /// Chat completions at <c>llm_base_url</c> with <c>llm_api_key</c>, the extra headers and query parameters of
    /// <c>llm_openai_default_header</c> / <c>llm_openai_default_query</c>, and the output limit sent under
    /// <c>llm_max_tokens_parameter</c>. The model of each call is <see cref="ChatOptions.ModelId"/>.
    /// </summary>
    public static IChatClient CreateChatClient(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<LlmOptions>>().Value;
        var client = CreateClient(services, LlmClient.HttpClientName, options.EffectiveBaseUrl, options.LlmApiKey,
            options.LlmOpenAiDefaultHeader, options.LlmOpenAiDefaultQuery);
        var chat = client.GetChatClient(options.BestLlmModel).AsIChatClient();
        return options.LlmMaxTokensParameter == LlmOptions.MaxTokensParameter ? new MaxTokensChatClient(chat) : chat;
    }

    /// <summary>
    /// Embeddings at the embedding endpoint (<see cref="EmbeddingOptions.EffectiveBaseUrl"/>, <see cref="EmbeddingOptions.EffectiveApiKey"/>),
    /// as float lists. Every entry of <see cref="EmbeddingGenerationOptions.AdditionalProperties"/> (string, bool or int) is sent
    /// as a field of the request body (Jina's <c>task</c> and <c>truncate</c>).
    /// </summary>
    public static IEmbeddingGenerator<string, Embedding<float>> CreateEmbeddingGenerator(IServiceProvider services)
    {
        var llm = services.GetRequiredService<IOptions<LlmOptions>>().Value;
        var options = services.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
        var baseUrl = options.EffectiveBaseUrl(llm);
        var client = CreateClient(services, EmbeddingClient.HttpClientName, baseUrl, options.EffectiveApiKey(llm), null, null);
        return new OpenAiEmbeddingGenerator(client.GetEmbeddingClient(options.EmbeddingModel), options.EmbeddingDim,
            new EmbeddingGeneratorMetadata("openai", new Uri(baseUrl), options.EmbeddingModel, options.EmbeddingDim));
    }

    private static OpenAIClient CreateClient(IServiceProvider services, string httpClientName, string baseUrl, string? apiKey,
        IReadOnlyDictionary<string, string>? headers, IReadOnlyDictionary<string, string>? query)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(baseUrl),
            Transport = new HttpClientPipelineTransport(services.GetRequiredService<IHttpClientFactory>().CreateClient(httpClientName)),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // the resilience handler retries
            NetworkTimeout = Timeout.InfiniteTimeSpan, // the resilience handler times each attempt out
            // LlmClient and EmbeddingClient log each call themselves; the SDK's logging policy only cost CPU per call.
            ClientLoggingOptions = new ClientLoggingOptions { EnableLogging = false },
        };
        if (headers is { Count: > 0 } || query is { Count: > 0 })
        {
            clientOptions.AddPolicy(new DefaultHeadersAndQueryPolicy(headers, query), PipelinePosition.PerCall);
        }
        AuthenticationPolicy authentication = string.IsNullOrWhiteSpace(apiKey)
            ? new NoAuthenticationPolicy()
            : ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(apiKey.Trim()));
        return new OpenAIClient(authentication, clientOptions);
    }

    /// <summary>Sends <see cref="ChatOptions.MaxOutputTokens"/> as <c>max_tokens</c> (the SDK's name is <c>max_completion_tokens</c>).</summary>
    private sealed class MaxTokensChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        public override Task<ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            if (options?.MaxOutputTokens is { } maxTokens)
            {
                var outer = options.RawRepresentationFactory;
                options = options.Clone();
                options.MaxOutputTokens = null;
                options.RawRepresentationFactory = client =>
                {
                    var raw = outer?.Invoke(client) as ChatCompletionOptions ?? new ChatCompletionOptions();
                    raw.Patch.Set("$.max_tokens"u8, maxTokens);
                    return raw;
                };
            }
            return base.GetResponseAsync(messages, options, cancellationToken);
        }
    }

    /// <summary>
    /// Embeddings through the SDK's <see cref="OpenAI.Embeddings.EmbeddingClient"/>, in input order by each item's
    /// <c>index</c> (Microsoft.Extensions.AI.OpenAI's generator keeps the reply's order). Asks for float lists (the SDK
    /// would ask for base64, which not every OpenAI-compatible server knows) and sends the extra fields.
    /// </summary>
    private sealed class OpenAiEmbeddingGenerator(OpenAI.Embeddings.EmbeddingClient client, int dimensions, EmbeddingGeneratorMetadata metadata)
        : IEmbeddingGenerator<string, Embedding<float>>
    {
        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
            EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var raw = new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = options?.Dimensions ?? dimensions };
            raw.Patch.Set("$.encoding_format"u8, "float");
            if (options?.ModelId is { } model) raw.Patch.Set("$.model"u8, model);
            foreach (var (name, value) in options?.AdditionalProperties ?? [])
            {
                var path = Encoding.UTF8.GetBytes("$." + name);
                switch (value)
                {
                    case string text: raw.Patch.Set(path, text); break;
                    case bool flag: raw.Patch.Set(path, flag); break;
                    case int number: raw.Patch.Set(path, number); break;
                    default: throw new ArgumentException($"Embedding option '{name}' has an unsupported type {value?.GetType().Name ?? "null"}.", nameof(options));
                }
            }
            var reply = (await client.GenerateEmbeddingsAsync(values, raw, cancellationToken)).Value;
            return new GeneratedEmbeddings<Embedding<float>>(reply.OrderBy(e => e.Index).Select(e => new Embedding<float>(e.ToFloats()) { ModelId = reply.Model }))
            {
                Usage = reply.Usage is { } usage ? new UsageDetails { InputTokenCount = usage.InputTokenCount, TotalTokenCount = usage.TotalTokenCount } : null,
            };
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
            => serviceKey is not null ? null
                : serviceType == typeof(EmbeddingGeneratorMetadata) ? metadata
                : serviceType == typeof(OpenAI.Embeddings.EmbeddingClient) ? client
                : serviceType.IsInstanceOfType(this) ? this
                : null;

        public void Dispose()
        {
        }
    }

    /// <summary>Adds <c>llm_openai_default_header</c> and <c>llm_openai_default_query</c> to every request.</summary>
    private sealed class DefaultHeadersAndQueryPolicy(IReadOnlyDictionary<string, string>? headers, IReadOnlyDictionary<string, string>? query)
        : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Apply(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Apply(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Apply(PipelineMessage message)
        {
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                message.Request.Headers.Set(name, value);
            }
            if (query is { Count: > 0 } && message.Request.Uri is { } uri)
            {
                var url = new StringBuilder(uri.GetLeftPart(UriPartial.Path));
                var separator = '?';
                if (uri.Query.Length > 1)
                {
                    url.Append(uri.Query);
                    separator = '&';
                }
                foreach (var (key, value) in query)
                {
                    url.Append(separator).Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value ?? ""));
                    separator = '&';
                }
                message.Request.Uri = new Uri(url.ToString());
            }
        }
    }

    /// <summary>No Authorization header: a local server (Ollama, LM Studio, vLLM) configured with a base URL and no key.</summary>
    private sealed class NoAuthenticationPolicy : AuthenticationPolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
            => ProcessNext(message, pipeline, currentIndex);

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
            => ProcessNextAsync(message, pipeline, currentIndex);
    }
}
