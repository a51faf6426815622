using System.Text.Json;
using Memobase.Server.Llm;
using Memobase.Server.Profiles;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Memobase.Server.Tests.Processing.PipelineTestHost;

namespace Memobase.Server.Tests.Processing;

public sealed class LlmClientTests
{
    [Fact]
    public async Task Sends_an_openai_chat_request_and_returns_text_and_reported_usage()
    {
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["llm_openai_default_header:X-Project"] = "memo",
            ["llm_openai_default_query:api-version"] = "2024-06-01",
            ["llm_temperature"] = "0.5",
            ["llm_max_tokens"] = "77",
        });
        host.Fake.ChatHandler = _ => FakeReply.Text("Hello there", promptTokens: 123, completionTokens: 45);

        var completion = await host.Llm.CompleteAsync("some-model", "be brief", "hi", CancellationToken.None);

        Assert.Equal("Hello there", completion.Text);
        Assert.Equal(123, completion.PromptTokens);
        Assert.Equal(45, completion.CompletionTokens);
        Assert.True(completion.ElapsedMs >= 0);
        var request = Assert.Single(host.Fake.ChatRequests);
        Assert.Equal("some-model", request.Model);
        Assert.Equal("be brief", request.System);
        Assert.Equal("hi", request.User);
        Assert.Equal(0.5, request.Temperature);
        Assert.Equal(77, request.MaxTokens);
        Assert.Equal("Bearer test-key", request.Headers["Authorization"]);
        Assert.Equal("memo", request.Headers["X-Project"]);
        Assert.Equal("?api-version=2024-06-01", request.Query);
    }

    [Fact]
    public async Task Counts_tokens_itself_when_the_response_has_no_usage()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.TextWithoutUsage("a completion of several tokens");

        var completion = await host.Llm.CompleteAsync("m", "system text", "user text", CancellationToken.None);

        var tokenizer = O200kTokenizer.Instance;
        Assert.Equal(tokenizer.CountTokens("system text") + tokenizer.CountTokens("user text"), completion.PromptTokens);
        Assert.Equal(tokenizer.CountTokens("a completion of several tokens"), completion.CompletionTokens);
    }

    [Fact]
    public async Task Retries_429_and_honours_retry_after()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = r => r.Index == 0 ? FakeReply.Status(429, retryAfter: TimeSpan.FromSeconds(1)) : FakeReply.Text("ok");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var completion = await host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None);

        Assert.Equal("ok", completion.Text);
        Assert.Equal(2, host.Fake.ChatRequests.Count);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {watch.Elapsed}");
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.Status(401, """{"error":{"message":"bad key"}}""");

        var ex = await Assert.ThrowsAsync<LlmException>(() => host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None));

        Assert.Equal(401, ex.StatusCode);
        Assert.Contains("bad key", ex.Message, StringComparison.Ordinal);
        Assert.Single(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task Retries_are_bounded_by_llm_max_retries()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_max_retries"] = "4" });
        host.Fake.ChatHandler = _ => FakeReply.Status(500);

        var ex = await Assert.ThrowsAsync<LlmException>(() => host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None));

        Assert.Equal(500, ex.StatusCode);
        Assert.Equal(5, host.Fake.ChatRequests.Count);
    }

    [Fact]
    public async Task Attempt_timeouts_are_retried_then_reported()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_timeout_seconds"] = "1", ["llm_max_retries"] = "1" });
        host.Fake.ChatHandler = r => r.Index == 0 ? FakeReply.Delay(TimeSpan.FromSeconds(3), FakeReply.Text("too late")) : FakeReply.Text("in time");

        var completion = await host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None);
        Assert.Equal("in time", completion.Text);

        host.Fake.Reset();
        host.Fake.ChatHandler = _ => FakeReply.Delay(TimeSpan.FromSeconds(3));
        var ex = await Assert.ThrowsAsync<LlmException>(() => host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None));
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, host.Fake.ChatRequests.Count);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_turned_into_an_llm_error()
    {
        await using var host = await StartAsync();
        using var cts = new CancellationTokenSource();
        // The caller gives up once the request is at the provider (a fixed 200 ms was not always enough to get there on the loaded box).
        host.Fake.ChatHandler = _ =>
        {
            cts.CancelAfter(TimeSpan.FromMilliseconds(50));
            return FakeReply.Delay(TimeSpan.FromSeconds(5));
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Llm.CompleteAsync("m", "s", "u", cts.Token));
        Assert.Single(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task Unusable_bodies_fail_without_retries()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = r => r.Index == 0 ? FakeReply.MalformedJson() : FakeReply.Text("never asked");

        var ex = await Assert.ThrowsAsync<LlmException>(() => host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None));

        Assert.Contains("invalid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Single(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task Not_configured_names_the_setting_and_makes_no_request()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_base_url"] = null, ["llm_api_key"] = null });

        Assert.False(host.Llm.IsConfigured);
        var ex = await Assert.ThrowsAsync<LlmNotConfiguredException>(() => host.Llm.CompleteAsync("m", "s", "u", CancellationToken.None));

        Assert.Equal("LLM is not configured: set llm_api_key (env MEMOBASE_LLM_API_KEY) and optionally llm_base_url (env MEMOBASE_LLM_BASE_URL)", ex.Message);
        Assert.False(host.Embeddings.IsEnabled);
        Assert.Empty(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task Summary_model_defaults_to_the_best_model()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["summary_llm_model"] = null, ["best_llm_model"] = "gpt-x" });

        Assert.Equal("gpt-x", host.Llm.SummaryModel);
        Assert.Equal("gpt-x", host.Llm.BestModel);
    }

    [Fact]
    public async Task Embeddings_are_requested_in_one_batch_and_returned_in_input_order()
    {
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["embedding_model"] = "embed-model",
            ["embedding_base_url"] = null,
            ["embedding_api_key"] = null,
        });
        host.Fake.EmbeddingHandler = _ => FakeReply.Default;

        var vectors = await host.Embeddings.EmbedAsync(["first", "second"], CancellationToken.None);

        var request = Assert.Single(host.Fake.EmbeddingRequests);
        Assert.Equal("embed-model", request.Model);
        Assert.Equal(["first", "second"], request.Inputs);
        Assert.Equal(8, request.Dimensions);
        Assert.Equal("float", request.EncodingFormat);
        Assert.Equal("Bearer test-key", request.Headers["Authorization"]); // falls back to llm_api_key and llm_base_url
        Assert.Equal(FakeOpenAiServer.HashVector("first", 8), vectors[0]);
        Assert.Equal(FakeOpenAiServer.HashVector("second", 8), vectors[1]);
        Assert.Empty(await host.Embeddings.EmbedAsync([], CancellationToken.None));
        Assert.Single(host.Fake.EmbeddingRequests);
    }

    [Fact]
    public async Task Embedding_dimension_mismatch_is_an_error()
    {
        await using var host = await StartAsync();
        host.Fake.EmbeddingDimension = 16;

        var ex = await Assert.ThrowsAsync<LlmException>(() => host.Embeddings.EmbedAsync(["x"], CancellationToken.None));

        Assert.Contains("dimension mismatch", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedicated_embedding_endpoint_and_key_are_used()
    {
        await using var other = await FakeOpenAiServer.StartAsync();
        other.ConstantEmbeddings = true;
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["embedding_base_url"] = other.BaseUrl + "/",
            ["embedding_api_key"] = "embed-key",
        });

        var vectors = await host.Embeddings.EmbedAsync(["x", "y"], CancellationToken.None);

        Assert.Empty(host.Fake.EmbeddingRequests);
        Assert.Equal("Bearer embed-key", Assert.Single(other.EmbeddingRequests).Headers["Authorization"]);
        Assert.Equal(vectors[0], vectors[1]);
        Assert.Equal(FakeOpenAiServer.ConstantVector(8), vectors[0]);
    }

    [Theory]
    [InlineData(true, null, null, "k", true)]
    [InlineData(true, null, null, null, false)]
    [InlineData(true, "http://localhost:1/v1", null, null, true)]
    [InlineData(true, null, "e-key", null, true)]
    [InlineData(false, "http://localhost:1/v1", "e-key", "k", false)]
    public void Embeddings_are_active_only_with_an_endpoint(bool enabled, string? baseUrl, string? key, string? llmKey, bool expected)
    {
        var options = new EmbeddingOptions { EnableEventEmbedding = enabled, EmbeddingBaseUrl = baseUrl, EmbeddingApiKey = key };
        var llm = new LlmOptions { LlmApiKey = llmKey, LlmBaseUrl = "http://llm.local/v1/" };

        Assert.Equal(expected, options.IsActive(llm));
        Assert.Equal(baseUrl?.TrimEnd('/') ?? (key is null ? "http://llm.local/v1" : LlmOptions.DefaultBaseUrl), options.EffectiveBaseUrl(llm));
        Assert.Equal(key ?? llmKey, options.EffectiveApiKey(llm));
    }

    [Theory]
    [InlineData("ollama")]
    [InlineData("lmstudio")]
    public void A_local_embedding_provider_with_a_key_needs_its_base_url_so_the_key_never_goes_to_openai(string provider)
    {
        var options = new EmbeddingOptions { EmbeddingProvider = provider, EnableEventEmbedding = true, EmbeddingApiKey = "local-secret" };
        var refused = new EmbeddingOptionsValidator().Validate(null, options);
        Assert.True(refused.Failed);
        Assert.Contains($"embedding_base_url: required with embedding_provider '{provider}'", refused.FailureMessage, StringComparison.Ordinal);

        options.EmbeddingBaseUrl = "http://localhost:11434/v1";
        Assert.True(new EmbeddingOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("embedding_provider", "cohere", "embedding_provider: 'cohere' is not supported; use one of openai, jina, ollama, lmstudio")]
    [InlineData("language", "ja", "language: 'ja' is not supported")]
    [InlineData("llm_base_url", "not a url", "llm_base_url")]
    [InlineData("llm_timeout_seconds", "0", "LlmTimeoutSeconds")]
    [InlineData("additional_user_profiles:0:topic", "x", "additional_user_profiles.0.sub_topics.0.description: Input should be a valid string")]
    public async Task Invalid_options_fail_validation_with_the_key_named(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("additional_user_profiles", StringComparison.Ordinal))
        {
            settings["additional_user_profiles:0:sub_topics:0:name"] = "n";
            settings["additional_user_profiles:0:sub_topics:0:description"] = "true";
        }
        await using var host = await StartAsync(settings);

        var ex = Assert.Throws<OptionsValidationException>(() =>
        {
            _ = host.Services.GetRequiredService<IOptions<LlmOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<ProfileOptions>>().Value;
        });

        Assert.Contains(expected, string.Join(" | ", ex.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Global_slot_and_tag_lists_are_read_from_configuration()
    {
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["additional_user_profiles:0:topic"] = "Pets",
            ["additional_user_profiles:0:description"] = "animals",
            ["additional_user_profiles:0:sub_topics:0"] = "Cat Name",
            ["additional_user_profiles:0:sub_topics:1:name"] = "vet",
            ["additional_user_profiles:0:sub_topics:1:validate_value"] = "true",
            ["event_tags:0"] = "Emotion",
            ["event_tags:1:name"] = "goal",
            ["event_tags:1:description"] = "aims",
        });

        var options = host.Services.GetRequiredService<IOptions<ProfileOptions>>().Value;

        var pets = Assert.Single(options.AdditionalUserProfiles);
        Assert.Equal("pets", pets.Topic);
        Assert.Equal("animals", pets.Description);
        Assert.Equal([new ProfileSubTopic("cat_name"), new ProfileSubTopic("vet", null, null, true)], pets.SubTopics);
        Assert.Null(options.OverwriteUserProfiles);
        Assert.Equal([new EventTag("emotion", ""), new EventTag("goal", "aims")], options.EventTags);
        Assert.Equal(9, options.DefaultSlotsFor("en").Count);
    }

    [Fact]
    public async Task Global_lists_may_come_as_json_strings()
    {
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["overwrite_user_profiles"] = """[{"topic": "only", "sub_topics": ["one"]}]""",
            ["event_tags"] = """["a", {"name": "b"}]""",
        });

        var options = host.Services.GetRequiredService<IOptions<ProfileOptions>>().Value;

        Assert.Equal("only", Assert.Single(options.DefaultSlotsFor("zh")).Topic);
        Assert.Equal(["a", "b"], options.EventTags.Select(t => t.Name));
    }
}
