using Memobase.Server.Processing;
using Memobase.Server.Profiles;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Memobase.Server.Llm;

public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the LLM side of processing: <see cref="LlmOptions"/>, <see cref="EmbeddingOptions"/> and
    /// <see cref="ProfileOptions"/> (bound from section <c>Memobase</c>, validated at start), the named HTTP clients,
    /// and the singletons <see cref="LlmBudget"/> (its database is resolved only when a budget is configured),
    /// <see cref="LlmThrottle"/>, <see cref="LlmClient"/>, <see cref="EmbeddingClient"/>, <see cref="BufferPipeline"/> and
    /// <see cref="ProfileFilter"/>. <see cref="BufferPipeline"/> also needs <c>IOptionsMonitor&lt;BufferOptions&gt;</c>,
    /// registered by the host.
    /// </summary>
    public static IServiceCollection AddMemobaseLlm(this IServiceCollection services)
    {
        services.AddOptions<LlmOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>());
        services.AddOptions<EmbeddingOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmbeddingOptions>, EmbeddingOptionsValidator>());
        services.AddOptions<ProfileOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ProfileOptions>, ProfileOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProfileOptions>, ProfileOptionsValidator>());

        // Timeouts and retries come from the clients' Polly pipelines (per attempt), not from HttpClient.Timeout.
        services.AddHttpClient(LlmClient.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.AddHttpClient(EmbeddingClient.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);

        services.TryAddSingleton(sp => new LlmBudget(new Lazy<NpgsqlDataSource>(sp.GetRequiredService<NpgsqlDataSource>),
            sp.GetRequiredService<IOptions<LlmOptions>>(), sp.GetRequiredService<ILogger<LlmBudget>>()));
        services.TryAddSingleton<LlmThrottle>();
        services.TryAddSingleton<LlmClient>();
        services.TryAddSingleton<EmbeddingClient>();
        services.TryAddSingleton<BufferPipeline>();
        services.TryAddSingleton<ProfileFilter>();
        return services;
    }
}
