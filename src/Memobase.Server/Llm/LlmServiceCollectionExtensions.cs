using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly.Telemetry;

namespace Memobase.Server.Llm;

public static class LlmServiceCollectionExtensions
{
    private const string LlmPipeline = LlmClient.HttpClientName + "-" + LlmCallTelemetry.Chat;
    private const string EmbeddingPipeline = EmbeddingClient.HttpClientName + "-" + LlmCallTelemetry.Embedding;

    /// <summary>
    /// Registers the LLM services: <see cref="LlmOptions"/> and <see cref="EmbeddingOptions"/> (bound from section
    /// <c>Memobase</c>, validated at start); the named HTTP clients <see cref="LlmClient.HttpClientName"/> and
    /// <see cref="EmbeddingClient.HttpClientName"/> with the resilience handler (<see cref="LlmResilience"/>) and
    /// <see cref="ProviderResponseHandler"/>; the provider, <see cref="IChatClient"/> and
    /// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (<see cref="OpenAiCompatibleProvider"/> unless one is already
    /// registered); and the singletons <see cref="LlmBudget"/> (its database is resolved only when a budget is configured),
    /// <see cref="LlmThrottle"/>, <see cref="LlmClient"/> and <see cref="EmbeddingClient"/>.
    /// </summary>
    public static IServiceCollection AddMemobaseLlm(this IServiceCollection services)
    {
        services.AddOptions<LlmOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>());
        services.AddOptions<EmbeddingOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmbeddingOptions>, EmbeddingOptionsValidator>());

        // The SDK keeps its HttpClient for the life of the process: connections are recycled by PooledConnectionLifetime
        // instead of the factory's handler rotation. Timeouts and retries come from the resilience handler, per attempt.
        foreach (var (name, kind) in new[] { (LlmClient.HttpClientName, LlmCallTelemetry.Chat), (EmbeddingClient.HttpClientName, LlmCallTelemetry.Embedding) })
        {
            services.AddHttpClient(name, c => c.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
                .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
                .AddLlmResilience(kind)
                .AddHttpMessageHandler(() => new ProviderResponseHandler());
        }
        // Polly would log each retry of these pipelines twice more (an attempt timeout at Error): LlmResilience logs it once, at Warning.
        services.Configure<TelemetryOptions>(o =>
        {
            var other = o.SeverityProvider;
            o.SeverityProvider = args => args.Source.PipelineName is LlmPipeline or EmbeddingPipeline
                ? ResilienceEventSeverity.Debug
                : other?.Invoke(args) ?? args.Event.Severity;
        });
        services.TryAddSingleton(OpenAiCompatibleProvider.CreateChatClient);
        services.TryAddSingleton(OpenAiCompatibleProvider.CreateEmbeddingGenerator);

        services.TryAddSingleton(sp => new LlmBudget(new Lazy<NpgsqlDataSource>(sp.GetRequiredService<NpgsqlDataSource>),
            sp.GetRequiredService<IOptions<LlmOptions>>(), sp.GetRequiredService<ILogger<LlmBudget>>()));
        services.TryAddSingleton<LlmThrottle>();
        services.TryAddSingleton<LlmClient>();
        services.TryAddSingleton<EmbeddingClient>();
        return services;
    }
}
