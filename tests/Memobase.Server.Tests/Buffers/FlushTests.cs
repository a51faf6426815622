using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Buffers;

/// <summary>The two Memobase buffer endpoints and automatic flushing, through the real worker and LLM client.</summary>
public sealed class FlushTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task<Guid> UserWithChatAsync(string text = "Hi, I'm Gus and I love pizza")
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", text), ("assistant", "Nice to meet you"))).Ok();
        return user;
    }

    private Task<JsonNode?> Ids(Guid user, string status, string type = "chat")
        => _client.GetAsync($"/api/v1/users/buffer/capacity/{user}/{type}?status={status}").Ok();

    [Fact]
    public async Task Synchronous_flush_returns_the_event_and_profile_ids_and_writes_them()
    {
        var user = await UserWithChatAsync();
        Assert.Single((await Ids(user, "idle"))!["ids"]!.AsArray());

        var data = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        var result = data!.AsArray().Single()!;
        var eventId = Guid.Parse(result["event_id"]!.GetValue<string>());
        var added = result["add_profiles"]!.AsArray().Select(x => Guid.Parse(x!.GetValue<string>())).ToList();
        Assert.Equal(FakeOpenAiServer.DefaultFacts.Count, added.Count);
        Assert.Empty(result["update_profiles"]!.AsArray());
        Assert.Empty(result["delete_profiles"]!.AsArray());

        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE id = $1 AND user_id = $2", eventId, user));
        Assert.Equal((long)added.Count, await app.ScalarAsync<long>("SELECT count(*) FROM user_profiles WHERE user_id = $1 AND id = ANY($2)", user, added.ToArray()));
        Assert.Equal("Gus", await app.ScalarAsync<string>(
            "SELECT content FROM user_profiles WHERE user_id = $1 AND attributes ->> 'sub_topic' = 'name'", user));
        var eventData = JsonNode.Parse(await app.ScalarAsync<string>("SELECT event_data::text FROM user_events WHERE id = $1", eventId))!;
        Assert.Contains("Gus", eventData["event_tip"]!.GetValue<string>());
        Assert.Equal(added.Count, eventData["profile_delta"]!.AsArray().Count);

        // Entries moved idle → done; with persistent_chat_blobs=true they stay visible as done.
        Assert.Empty((await Ids(user, "idle"))!["ids"]!.AsArray());
        Assert.Empty((await Ids(user, "processing"))!["ids"]!.AsArray());
        Assert.Single((await Ids(user, "done"))!["ids"]!.AsArray());

        // The job records what it did.
        var job = await app.ScalarAsync<string>("""
            SELECT json_build_object('status', status, 'llm_calls', llm_calls, 'prompt', prompt_tokens, 'completion', completion_tokens,
                                     'entries', entry_count, 'attempts', attempts)::text FROM flush_jobs WHERE user_id = $1
            """, user);
        var j = JsonNode.Parse(job)!;
        Assert.Equal("done", j["status"]!.GetValue<string>());
        Assert.Equal(3, j["llm_calls"]!.GetValue<int>()); // summary, extract, merge
        Assert.True(j["prompt"]!.GetValue<int>() > 0);
        Assert.True(j["completion"]!.GetValue<int>() > 0);
        Assert.Equal(1, j["entries"]!.GetValue<int>());
        Assert.Equal(1, j["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task Nothing_idle_gives_an_empty_list()
    {
        var user = await _client.CreateUserAsync();
        var data = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        Assert.Empty(data!.AsArray());
        data = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat", null).Ok();
        Assert.Empty(data!.AsArray());
    }

    [Fact]
    public async Task Background_flush_returns_null_then_the_worker_processes_the_buffer()
    {
        var user = await UserWithChatAsync();
        var data = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=False", null).Ok();
        Assert.Null(data);
        await LlmApp.Eventually(async () => (await Ids(user, "done"))!["ids"]!.AsArray().Count == 1);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
    }

    [Fact]
    public async Task Doc_buffers_are_stored_but_not_processed()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"doc","blob_data":{"content":"notes"}}""").Ok();
        var message = await _client.PostAsync($"/api/v1/users/buffer/{user}/doc?wait_process=1", null).Fails(400);
        Assert.Equal("Blob type doc not supported", message);
        Assert.Null(await _client.PostAsync($"/api/v1/users/buffer/{user}/doc?wait_process=0", null).Ok());
        Assert.Single((await Ids(user, "idle", "doc"))!["ids"]!.AsArray());
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM flush_jobs WHERE user_id = $1", user));
    }

    [Fact]
    public async Task Summary_blobs_skip_the_entry_summary_call()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"summary","blob_data":{"summary":"Gus likes pizza"}}""").Ok();
        var before = app.Fake.CountStage(PromptStages.EntrySummary);
        var data = await _client.PostAsync($"/api/v1/users/buffer/{user}/summary?wait_process=true", null).Ok();
        Assert.NotNull(data!.AsArray().Single()!["event_id"]);
        Assert.Equal(before, app.Fake.CountStage(PromptStages.EntrySummary));
        Assert.Single((await Ids(user, "done", "summary"))!["ids"]!.AsArray());
    }

    [Fact]
    public async Task Insert_over_the_token_threshold_with_wait_process_returns_chat_results()
    {
        var user = await _client.CreateUserAsync();
        var big = string.Join(' ', Enumerable.Repeat("I really enjoy long walks along the river with my dog.", 120)); // > 1024 tokens
        var inserted = await _client.PostJson($"/api/v1/blobs/insert/{user}?wait_process=true", Http.ChatBlob(("user", big))).Ok();
        var results = inserted!["chat_results"]!.AsArray();
        Assert.Single(results);
        Assert.NotNull(results[0]!["event_id"]);
        Assert.Equal("auto", await app.ScalarAsync<string>("SELECT trigger FROM flush_jobs WHERE user_id = $1", user));

        // Below the threshold nothing happens on insert.
        var small = await _client.PostJson($"/api/v1/blobs/insert/{user}?wait_process=true", Http.ChatBlob(("user", "short"))).Ok();
        Assert.Empty(small!["chat_results"]!.AsArray());
        Assert.Single((await Ids(user, "idle"))!["ids"]!.AsArray());
    }
}

/// <summary>persistent_chat_blobs=false (upstream's default): processed chat blobs and their entries are deleted.</summary>
public sealed class NonPersistentFlushTests(LlmApp app) : IClassFixture<LlmApp>
{
    [Fact]
    public async Task Processed_chat_blobs_are_deleted_and_done_lists_nothing()
    {
        app.With("persistent_chat_blobs", "false");
        var client = app.Client();
        var user = await client.CreateUserAsync();
        var blob = (await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Gus"))).Ok())!["id"]!.GetValue<string>();
        var data = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        Assert.NotNull(data!.AsArray().Single()!["event_id"]);
        await client.GetAsync($"/api/v1/blobs/{user}/{blob}").Fails(404);
        Assert.Empty((await client.GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?status=done").Ok())!["ids"]!.AsArray());
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        Assert.Equal("done", await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
    }
}

public sealed class IdleFlushTests(LlmApp app) : IClassFixture<LlmApp>
{
    [Fact]
    public async Task A_buffer_idle_for_longer_than_buffer_flush_interval_is_flushed_by_the_worker()
    {
        app.With("buffer_flush_interval", "1");
        var client = app.Client();
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Gus"))).Ok();
        await LlmApp.Eventually(async () =>
            (await client.GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?status=done").Ok())!["ids"]!.AsArray().Count == 1, 20);
        Assert.Equal("idle", await app.ScalarAsync<string>("SELECT trigger FROM flush_jobs WHERE user_id = $1", user));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
    }
}
