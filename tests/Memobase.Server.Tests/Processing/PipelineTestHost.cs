using System.Collections.Concurrent;
using Memobase.Server.Buffers;
using Memobase.Server.Llm;
using Memobase.Server.Processing;
using Memobase.Server.Profiles;
using Memobase.Server.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Memobase.Server.Content;

namespace Memobase.Server.Tests.Processing;

/// <summary>
/// The real LLM services (AddMemobaseLlm), BufferPipeline and ProfileFilter built from in-memory configuration that points at a <see cref="FakeOpenAiServer"/>.
/// </summary>
internal sealed class PipelineTestHost : IAsyncDisposable
{
    public static readonly DateTimeOffset BlobTime = new(2025, 1, 2, 10, 0, 0, TimeSpan.Zero);

    private PipelineTestHost(FakeOpenAiServer fake, ServiceProvider services, ListLoggerProvider logs)
    {
        Fake = fake;
        Services = services;
        Logs = logs;
    }

    public FakeOpenAiServer Fake { get; }

    public ServiceProvider Services { get; }

    public ListLoggerProvider Logs { get; }

    public BufferPipeline Pipeline => Services.GetRequiredService<BufferPipeline>();

    public LlmClient Llm => Services.GetRequiredService<LlmClient>();

    public EmbeddingClient Embeddings => Services.GetRequiredService<EmbeddingClient>();

    /// <summary>
    /// Defaults: LLM and embeddings at the fake with key "test-key", models best-model/summary-model, 2 s attempt timeout,
    /// 2 retries with 1 ms base delay, embeddings of 8 dimensions, UTC. <paramref name="settings"/> entries (keys without
    /// the "Memobase:" prefix; null removes a default) override them; <paramref name="configureServices"/> runs after the
    /// registrations (e.g. to replace the chat client).
    /// </summary>
    public static async Task<PipelineTestHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var fake = await FakeOpenAiServer.StartAsync();
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["llm_base_url"] = fake.BaseUrl,
            ["llm_api_key"] = "test-key",
            ["best_llm_model"] = "best-model",
            ["summary_llm_model"] = "summary-model",
            ["llm_timeout_seconds"] = "2",
            ["llm_max_retries"] = "2",
            ["llm_retry_base_delay_ms"] = "1",
            ["embedding_dim"] = "8",
            ["use_timezone"] = "UTC",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (value is null) values.Remove(key);
            else values[key] = value;
        }
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(kv => new KeyValuePair<string, string?>("Memobase:" + kv.Key, kv.Value)))
            .Build();
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        services.AddOptions<BufferOptions>().BindConfiguration("Memobase");
        services.AddMemobaseLlm();
        services.AddProfileOptions();
        services.AddSingleton<BufferPipeline>();
        services.AddSingleton<ProfileFilter>();
        configureServices?.Invoke(services);
        return new PipelineTestHost(fake, services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }), logs);
    }

    public static BufferedBlob ChatBlob(params (string Role, string Content)[] messages)
        => ChatBlobAt(BlobTime, messages);

    public static BufferedBlob ChatBlobAt(DateTimeOffset at, params (string Role, string Content)[] messages)
        => Buffered("chat", new ChatContent(messages.Select(m => new ChatMessage(m.Role, m.Content)).ToList()), at);

    public static BufferedBlob SummaryBlob(string summary) => Buffered("summary", new SummaryContent(summary), BlobTime);

    /// <summary>A buffered blob with the token size an insert records (o200k count of its UTC rendering).</summary>
    private static BufferedBlob Buffered(string type, BlobContent content, DateTimeOffset at)
        => new(Guid.NewGuid(), Guid.NewGuid(), type, content, at,
            Memobase.Server.Tokenization.O200kTokenizer.Instance.CountTokens(content.Render(at, TimeZoneInfo.Utc)));

    public static ExistingProfile Profile(string topic, string subTopic, string content, string? attributesJson = null)
        => new(Guid.NewGuid(), topic, subTopic, content,
            attributesJson ?? $$"""{"topic":"{{topic}}","sub_topic":"{{subTopic}}"}""", new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));

    public static PipelineInput Input(IReadOnlyList<BufferedBlob> blobs, IReadOnlyList<ExistingProfile>? profiles = null, string? config = null,
        string blobType = "chat")
        => new("test-project", Guid.Parse("6f0d7a42-8f49-4b62-9a4e-2c0e1a3c0b11"), blobType, blobs, config, profiles ?? []);

    public ValueTask DisposeAsync()
    {
        Services.Dispose();
        return Fake.DisposeAsync();
    }
}

/// <summary>Collects log entries in memory.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner._entries.Enqueue((logLevel, category, formatter(state, exception)));
    }
}
