using System.Text;
using Memobase.Server.Llm;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Memobase.Server.Telemetry;
using static Memobase.Server.Tests.Processing.PipelineTestHost;

namespace Memobase.Server.Tests.Processing;

/// <summary>
/// A server whose <see cref="IChatClient"/> is a deployment's own: the OpenAI-compatible client wrapped in one that counts
/// the calls it passes on.
/// </summary>
public sealed class ProviderApp : LlmApp
{
    public CountingChatClient? Chat { get; private set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services => services.AddSingleton<IChatClient>(sp =>
            Chat = new CountingChatClient(OpenAiCompatibleProvider.CreateChatClient(sp))));
    }

    public sealed class CountingChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return base.GetResponseAsync(messages, options, cancellationToken);
        }
    }
}

/// <summary>The LLM clients behind Microsoft.Extensions.AI and the resilience handler, over real HTTP.</summary>
public sealed class LlmProviderTests(ProviderApp app) : IClassFixture<ProviderApp>
{
    [Fact]
    public async Task The_output_limit_is_sent_as_max_tokens_unless_max_completion_tokens_is_configured()
    {
        await using (var host = await StartAsync())
        {
            await host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None, maxTokens: 33);

            var request = Assert.Single(host.Fake.ChatRequests);
            Assert.Equal(33, request.MaxTokens);
            Assert.Null(request.MaxCompletionTokens);
        }
        await using (var host = await StartAsync(new Dictionary<string, string?> { ["llm_max_tokens_parameter"] = "max_completion_tokens" }))
        {
            await host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None);

            var request = Assert.Single(host.Fake.ChatRequests);
            Assert.Null(request.MaxTokens);
            Assert.Equal(1024, request.MaxCompletionTokens);
        }
    }

    [Fact]
    public async Task An_unknown_output_limit_parameter_is_refused_at_start()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_max_tokens_parameter"] = "max_output_tokens" });

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LlmOptions>>().Value);

        Assert.Contains("llm_max_tokens_parameter: 'max_output_tokens' is not supported; use max_tokens or max_completion_tokens", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_503_is_retried_by_the_resilience_handler_and_the_job_succeeds_on_its_first_attempt()
    {
        var client = app.Client();
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "unavailable-marker: I'm Cy and I sail"))).Ok();
        var failed = 0;
        app.Fake.ChatHandler = r => r.User.Contains("unavailable-marker", StringComparison.Ordinal) && r.Stage == PromptStages.EntrySummary
            && Interlocked.Increment(ref failed) == 1
            ? FakeReply.Status(503)
            : FakeReply.Default;
        try
        {
            var callsBefore = app.Chat!.Calls;

            var result = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

            Assert.NotNull(result!.AsArray().Single()!["event_id"]);
            Assert.Equal(2, app.Fake.RequestsFor(PromptStages.EntrySummary).Count(r => r.User.Contains("unavailable-marker", StringComparison.Ordinal)));
            Assert.Equal(1, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal("done", await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
            // The retry happened below the chat client: the summary was one call of the pipeline, sent twice.
            var summaryCalls = await app.ScalarAsync<long>("""
                SELECT count(*) FROM flush_job_attempts a JOIN flush_jobs j ON j.id = a.job_id,
                     jsonb_array_elements(a.llm_call_log) c
                WHERE j.user_id = $1 AND c ->> 'stage' = 'entry_summary'
                """, user);
            Assert.Equal(1L, summaryCalls);
            Assert.True(app.Chat.Calls > callsBefore);
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task A_chat_client_registered_in_di_carries_every_pipeline_call()
    {
        var client = app.Client();
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "own-client-marker: I'm Di and I paint"))).Ok();
        var callsBefore = app.Chat!.Calls;
        var requestsBefore = app.Fake.ChatRequests.Count;

        var result = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

        Assert.NotNull(result!.AsArray().Single()!["event_id"]);
        var requests = app.Fake.ChatRequests.Count - requestsBefore;
        Assert.True(requests >= 3, $"the fake saw {requests} requests"); // summary, extract, merge at least
        Assert.Equal(requests, app.Chat.Calls - callsBefore);
    }

    [Fact]
    public async Task Embeddings_are_returned_in_input_order_whatever_the_order_of_the_reply()
    {
        await using var host = await StartAsync();
        host.Fake.EmbeddingHandler = _ => FakeReply.MalformedJson("""
            {"object":"list","model":"m","usage":{"prompt_tokens":2,"total_tokens":2},"data":[
             {"object":"embedding","index":1,"embedding":[1,1,1,1,1,1,1,1]},
             {"object":"embedding","index":0,"embedding":[0,0,0,0,0,0,0,0]}]}
            """);

        var vectors = await host.Embeddings.EmbedAsync(["first", "second"], CancellationToken.None);

        Assert.Equal(new float[8], vectors[0]);
        Assert.Equal(Enumerable.Repeat(1f, 8), vectors[1]);
    }

    [Fact]
    public async Task A_provider_of_its_own_needs_no_openai_settings_and_its_usage_is_recorded()
    {
        var provider = new CannedChatClient();
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_base_url"] = null, ["llm_api_key"] = null },
            services => services.AddSingleton<IChatClient>(provider));
        var log = new Memobase.Server.Telemetry.LlmCallLog();

        LlmCompletion completion;
        using (Memobase.Server.Telemetry.LlmCallContext.ForProject("own-provider", log))
        {
            completion = await host.Llm.CompleteAsync("their-model", "s", "u", CancellationToken.None, maxTokens: 12);
        }

        Assert.True(host.Llm.IsConfigured);
        Assert.Equal("canned reply", completion.Text);
        Assert.Equal((40, 7), (completion.PromptTokens, completion.CompletionTokens));
        Assert.Equal(("their-model", 12), (provider.LastOptions!.ModelId, provider.LastOptions.MaxOutputTokens));
        var call = Assert.Single(log.Snapshot());
        Assert.Equal(("chat", "their-model", 40, 7, "ok"), (call.Kind, call.Model, call.InputTokens, call.OutputTokens, call.Outcome));
        Assert.Empty(host.Fake.ChatRequests);
    }

    /// <summary>A provider that is not OpenAI's: answers every call with one text and its usage.</summary>
    private sealed class CannedChatClient : IChatClient
    {
        public ChatOptions? LastOptions { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            LastOptions = options;
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "canned reply"))
            {
                Usage = new UsageDetails { InputTokenCount = 40, OutputTokenCount = 7 },
            });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData("""{"error":{"message":"model overloaded","type":"server_error"}}""")]
    [InlineData("""{"id":"x","object":"chat.completion","choices":[]}""")]
    public async Task A_200_reply_without_a_completion_fails_the_call_without_retries(string body)
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.MalformedJson(body);

        var ex = await Assert.ThrowsAsync<LlmException>(() => host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None));

        Assert.StartsWith("LLM returned an unexpected response: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal("response", ex.Cause);
        Assert.False(ex.IsConfigurationError);
        Assert.Single(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task A_retried_attempt_timeout_is_logged_once_as_a_warning()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_timeout_seconds"] = "1", ["llm_max_retries"] = "1" });
        host.Fake.ChatHandler = r => r.Index == 0 ? FakeReply.Delay(TimeSpan.FromSeconds(3), FakeReply.Text("too late")) : FakeReply.Text("in time");

        Assert.Equal("in time", (await host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None)).Text);

        var warnings = host.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).ToList();
        Assert.True(warnings.Count == 1, string.Join("\n", warnings.Select(w => $"{w.Level} {w.Category}: {w.Message}")));
        var warning = warnings[0];
        Assert.Equal(typeof(LlmClient).FullName, warning.Category);
        Assert.StartsWith("chat request attempt failed (TimeoutRejectedException); retry 1/1 in ", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"a":"x \ud800 y"}""", """{"a":"x \ufffd y"}""")]
    [InlineData("""{"a":"\udc00\ud83d\ude00\ud83d"}""", """{"a":"\ufffd\ud83d\ude00\ufffd"}""")]
    [InlineData("""{"a":"\\ud800 is text, \u00e9 a letter"}""", """{"a":"\\ud800 is text, \u00e9 a letter"}""")]
    [InlineData("""{"a":"\ud800\u0041"}""", """{"a":"\ufffd\u0041"}""")]
    public void Unpaired_surrogate_escapes_are_replaced_in_place(string reply, string expected)
    {
        var repaired = ProviderJson.ReplaceLoneSurrogateEscapes(Encoding.UTF8.GetBytes(reply));

        Assert.Equal(expected, Encoding.UTF8.GetString(repaired));
    }
}
