using System.Text;
using Memobase.Server.Llm;
using Memobase.Server.Processing.Prompts;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
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
