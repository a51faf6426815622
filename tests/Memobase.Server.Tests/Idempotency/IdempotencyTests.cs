using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tests.Memory;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Idempotency;

/// <summary>Issue 12 §1: the Idempotency-Key header on the five write POSTs, over real HTTP and PostgreSQL.</summary>
public sealed class IdempotencyTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    private static HttpRequestMessage Post(string url, string? json, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (key is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return request;
    }

    private static async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpClient client, string url, string? json, string? key)
    {
        var response = await client.SendAsync(Post(url, json, key));
        return (response, await response.Content.ReadAsStringAsync());
    }

    private static string Key() => "key-" + Guid.NewGuid();

    private Task<long> BlobCountAsync(Guid user) => app.ScalarAsync<long>("SELECT count(*) FROM blobs WHERE user_id = $1", user);

    private static Guid DataId(string body) => Guid.Parse(JsonNode.Parse(body)!["data"]!["id"]!.GetValue<string>());

    [Fact]
    public async Task Without_the_header_every_insert_stores_a_blob_and_no_key_is_kept()
    {
        var user = await _client.CreateUserAsync();
        var chat = Http.ChatBlob(("user", "no key"));
        var first = await SendAsync(_client, $"/api/v1/blobs/insert/{user}", chat, null);
        var second = await SendAsync(_client, $"/api/v1/blobs/insert/{user}", chat, null);

        Assert.NotEqual(DataId(first.Body), DataId(second.Body));
        Assert.Equal(2, await BlobCountAsync(user));
        Assert.False(second.Response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM idempotency_keys WHERE response_body LIKE '%' || $1 || '%'",
            DataId(first.Body).ToString()));
    }

    [Fact]
    public async Task A_repeat_with_the_same_key_returns_the_stored_response_and_writes_nothing()
    {
        var key = Key();
        var created = await SendAsync(_client, "/api/v1/users", """{"data":{"plan":"free"}}""", key);
        var again = await SendAsync(_client, "/api/v1/users", """{"data":{"plan":"free"}}""", key);
        Assert.Equal(HttpStatusCode.OK, again.Response.StatusCode);
        Assert.Equal(created.Body, again.Body);
        Assert.Equal("true", again.Response.Headers.GetValues("Idempotent-Replayed").Single());
        var user = DataId(created.Body);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM users WHERE id = $1", user));

        var chat = Http.ChatBlob(("user", "Hi, I'm Gus"));
        var blobKey = Key();
        var inserted = await SendAsync(_client, $"/api/v1/blobs/insert/{user}", chat, blobKey);
        var retried = await SendAsync(_client, $"/api/v1/blobs/insert/{user}", chat, blobKey);
        Assert.Equal(inserted.Body, retried.Body);
        Assert.Equal(1, await BlobCountAsync(user));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1", user));

        var profile = """{"content":"Gus","attributes":{"topic":"basic_info","sub_topic":"name"}}""";
        var profileKey = Key();
        var added = await SendAsync(_client, $"/api/v1/users/profile/{user}", profile, profileKey);
        var addedAgain = await SendAsync(_client, $"/api/v1/users/profile/{user}", profile, profileKey);
        Assert.Equal(added.Body, addedAgain.Body);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_profiles WHERE user_id = $1", user));

        // The same key in another project is another key.
        var other = await app.ProjectClientAsync("idem-other");
        var elsewhere = await SendAsync(other, "/api/v1/users", """{"data":{"plan":"free"}}""", key);
        Assert.Equal(HttpStatusCode.OK, elsewhere.Response.StatusCode);
        Assert.NotEqual(user, DataId(elsewhere.Body));
    }

    [Fact]
    public async Task The_same_key_with_another_body_path_or_query_is_refused_with_409_naming_the_key()
    {
        var user = await _client.CreateUserAsync();
        var other = await _client.CreateUserAsync();
        var key = Key();
        await SendAsync(_client, $"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "first")), key);

        foreach (var (url, chat) in new[]
                 {
                     ($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "second"))),
                     ($"/api/v1/blobs/insert/{other}", Http.ChatBlob(("user", "first"))),
                     ($"/api/v1/blobs/insert/{user}?wait_process=true", Http.ChatBlob(("user", "first"))),
                 })
        {
            var (response, body) = await SendAsync(_client, url, chat, key);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var envelope = JsonNode.Parse(body)!;
            Assert.Equal(409, envelope["errno"]!.GetValue<int>());
            Assert.Contains(key, envelope["errmsg"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Null(envelope["data"]);
        }
        Assert.Equal(1, await BlobCountAsync(user));
        Assert.Equal(0, await BlobCountAsync(other));
    }

    [Fact]
    public async Task Racing_duplicates_with_one_key_store_one_blob_and_all_get_its_id()
    {
        var user = await _client.CreateUserAsync();
        var key = Key();
        var chat = Http.ChatBlob(("user", "sent by a client that retries at once"));
        var clients = Enumerable.Range(0, 12).Select(_ => app.Client()).ToList();

        var answers = await Task.WhenAll(clients.Select(c => SendAsync(c, $"/api/v1/blobs/insert/{user}", chat, key)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Response.StatusCode));
        Assert.Single(answers.Select(a => DataId(a.Body)).Distinct());
        Assert.Equal(1, await BlobCountAsync(user));
        Assert.Equal(11, answers.Count(a => a.Response.Headers.Contains("Idempotent-Replayed")));
    }

    [Theory]
    [InlineData("tab\tinside")]
    [InlineData("x256")]
    public async Task An_invalid_key_is_a_422_naming_the_header(string key)
    {
        if (key == "x256") key = new string('x', 256);
        var user = await _client.CreateUserAsync();
        var error = await _client.SendAsync(Post($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "hi")), key)).Invalid("header", "Idempotency-Key");
        Assert.NotNull(error["msg"]);
        Assert.Equal(0, await BlobCountAsync(user));
    }

    [Fact]
    public async Task A_request_that_fails_validation_leaves_the_key_free()
    {
        var user = await _client.CreateUserAsync();
        var key = Key();
        await _client.SendAsync(Post($"/api/v1/blobs/insert/{user}", """{"blob_type":"chat"}""", key)).Invalid("body", "blob_data");
        var stored = await SendAsync(_client, $"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "valid now")), key);
        Assert.Equal(HttpStatusCode.OK, stored.Response.StatusCode);
        Assert.Equal(1, await BlobCountAsync(user));
    }

    [Fact]
    public async Task A_waited_flush_with_a_key_is_processed_once_and_its_result_replayed()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "Hi, I'm Gus and I love pizza"))).Ok();
        var key = Key();

        var flushed = await SendAsync(_client, $"/api/v1/users/buffer/{user}/chat?wait_process=true", null, key);
        var again = await SendAsync(_client, $"/api/v1/users/buffer/{user}/chat?wait_process=true", null, key);

        var result = JsonNode.Parse(flushed.Body)!["data"]!.AsArray().Single()!;
        Assert.NotNull(result["event_id"]);
        Assert.Equal(2, result["add_profiles"]!.AsArray().Count);
        Assert.Equal(flushed.Body, again.Body);
        var job = flushed.Response.Headers.GetValues("X-Memobase-Job-Id").Single();
        Assert.Equal(job, again.Response.Headers.GetValues("X-Memobase-Job-Id").Single());
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM flush_jobs WHERE user_id = $1", user));
        Assert.Equal("completed", await app.ScalarAsync<string>("SELECT status FROM idempotency_keys WHERE key = $1", key));
    }

    [Fact]
    public async Task An_insert_that_triggers_a_waited_flush_replays_its_chat_results()
    {
        var user = await _client.CreateUserAsync();
        var key = Key();
        var big = Http.ChatBlob(("user", string.Join(' ', Enumerable.Repeat("I love pizza and tennis.", 300))));

        var inserted = await SendAsync(_client, $"/api/v1/blobs/insert/{user}?wait_process=true", big, key);
        var again = await SendAsync(_client, $"/api/v1/blobs/insert/{user}?wait_process=true", big, key);

        var data = JsonNode.Parse(inserted.Body)!["data"]!;
        Assert.Single(data["chat_results"]!.AsArray());
        Assert.NotNull(data["chat_results"]![0]!["event_id"]);
        Assert.Equal(inserted.Body, again.Body);
        Assert.Equal(1, await BlobCountAsync(user));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
    }

    [Fact]
    public async Task Import_with_a_key_imports_once()
    {
        var user = await _client.CreateUserAsync();
        var key = Key();
        var body = """{"context":"I live in Lisbon and play the cello."}""";

        var first = await SendAsync(_client, $"/api/v1/users/profile/import/{user}", body, key);
        var second = await SendAsync(_client, $"/api/v1/users/profile/import/{user}", body, key);

        Assert.Equal("""{"data":null,"errno":0,"errmsg":""}""", first.Body);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(1, await BlobCountAsync(user));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
    }

    [Fact]
    public async Task Expired_keys_are_purged_by_the_worker_maintenance()
    {
        var user = await _client.CreateUserAsync();
        var key = Key();
        await SendAsync(_client, $"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "kept for a while")), key);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM idempotency_keys WHERE key = $1", key));

        await app.ScalarAsync<int>("""
            WITH u AS (UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1 RETURNING 1) SELECT count(*)::int FROM u
            """, key);
        await LlmApp.Eventually(async () => await app.ScalarAsync<long>("SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 0,
            because: "the maintenance purges expired keys");

        // Gone: the key is free again, so the same request stores a second blob.
        var again = await SendAsync(_client, $"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "kept for a while")), key);
        Assert.False(again.Response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, await BlobCountAsync(user));
    }
}

/// <summary>Profile import (issue 12 §4) without a key: upstream's two flushes around one user message.</summary>
public sealed class ProfileImportTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task Import_flushes_the_buffer_then_processes_the_text_as_one_user_message()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "An earlier chat about chess"))).Ok();
        app.Fake.Reset();

        var data = await _client.PostJson($"/api/v1/users/profile/import/{user}", """{"context":"I live in Lisbon.\nI play the cello."}""").Ok();

        Assert.Null(data);
        var summaries = app.Fake.RequestsFor(PromptStages.EntrySummary);
        Assert.Equal(2, summaries.Count); // the earlier chat on its own, then the import
        Assert.Contains("earlier chat about chess", summaries[0].User, StringComparison.Ordinal);
        Assert.DoesNotContain("Lisbon", summaries[0].User, StringComparison.Ordinal);
        Assert.Contains("user: Below is my information, please remember them:\nI live in Lisbon.\nI play the cello.", summaries[1].User, StringComparison.Ordinal);
        Assert.Equal(2L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1 AND status <> 'done'", user));
        Assert.Equal("Below is my information, please remember them:\nI live in Lisbon.\nI play the cello.\n", await app.ScalarAsync<string>(
            "SELECT blob_data -> 'messages' -> 0 ->> 'content' FROM blobs WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1", user));
    }

    [Fact]
    public async Task Import_errors_are_upstreams()
    {
        Assert.Contains("not found", await _client.PostJson($"/api/v1/users/profile/import/{Guid.NewGuid()}", """{"context":"x"}""").Fails(404),
            StringComparison.Ordinal);
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/users/profile/import/{user}", "{}").Invalid("body", "context");
        await _client.PostJson($"/api/v1/users/profile/import/{user}", """{"context":3}""").Invalid("body", "context");
    }

    [Fact]
    public async Task A_failed_flush_is_the_imports_errno()
    {
        var user = await _client.CreateUserAsync();
        app.Fake.ChatHandler = r => r.Stage == PromptStages.EntrySummary ? FakeReply.Status(500) : FakeReply.Default;
        try
        {
            var message = await _client.PostJson($"/api/v1/users/profile/import/{user}", """{"context":"x"}""").Fails(503);
            Assert.Contains("failed", message, StringComparison.Ordinal);
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }
}
