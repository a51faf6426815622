using System.Net;
using System.Net.Http.Json;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Admin;

/// <summary>Operator views: Memind's ConversationBufferView over buffered chat messages, and the flush-job views.</summary>
public sealed class AdminApiTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _root = app.Client();

    [Fact]
    public async Task Conversation_buffer_view_has_memind_fields_and_flips_to_extracted_after_processing()
    {
        var user = await _root.CreateUserAsync();
        var blob = (await _root.PostJson($"/api/v1/blobs/insert/{user}", """
            {"blob_type":"chat","fields":{"source_client":"web"},"blob_data":{"messages":[
              {"role":"user","content":"Hi, I'm Gus","alias":"Gus","created_at":"2025-01-14T10:11:12+02:00"},
              {"role":"assistant","content":"Hello Gus"}]}}
            """).Ok())!["id"]!.GetValue<string>();
        var seq = await app.ScalarAsync<long>("SELECT seq FROM buffer_entries WHERE blob_id = $1", Guid.Parse(blob));

        using (var raw = await _root.GetAsync($"/admin/v1/buffers/conversations/{seq * 10000}"))
        {
            var body = await raw.Json();
            var view = body["data"]!;
            var expected = new[] { "id", "sessionId", "userId", "agentId", "memoryId", "role", "content", "userName", "sourceClient",
                                   "timestamp", "extracted", "createdAt", "updatedAt" };
            Assert.Equal(expected.OrderBy(x => x), view.AsObject().Select(p => p.Key).OrderBy(x => x));
            Assert.Equal(seq * 10000, view["id"]!.GetValue<long>());
            Assert.Equal(blob, view["sessionId"]!.GetValue<string>());
            Assert.Equal(user.ToString(), view["userId"]!.GetValue<string>());
            Assert.Equal("__root__", view["agentId"]!.GetValue<string>());
            Assert.Equal(user.ToString(), view["memoryId"]!.GetValue<string>());
            Assert.Equal("user", view["role"]!.GetValue<string>());
            Assert.Equal("Hi, I'm Gus", view["content"]!.GetValue<string>());
            Assert.Equal("Gus", view["userName"]!.GetValue<string>());
            Assert.Equal("web", view["sourceClient"]!.GetValue<string>());
            Assert.Equal(DateTimeOffset.Parse("2025-01-14T08:11:12Z", System.Globalization.CultureInfo.InvariantCulture),
                DateTimeOffset.Parse(view["timestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
            Assert.False(view["extracted"]!.GetValue<bool>());
        }
        var second = await _root.GetAsync($"/admin/v1/buffers/conversations/{seq * 10000 + 1}").Ok();
        Assert.Equal("assistant", second!["role"]!.GetValue<string>());
        Assert.Null(second["userName"]);
        await _root.GetAsync($"/admin/v1/buffers/conversations/{seq * 10000 + 2}").Fails(404);

        var pending = await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}").Ok(); // state defaults to pending
        Assert.Equal(2, pending!["list"]!.AsArray().Count);
        Assert.Equal(2, pending["total"]!.GetValue<long>());
        Assert.Equal(1, pending["current"]!.GetValue<int>());
        Assert.Empty((await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}&state=extracted").Ok())!["list"]!.AsArray());

        await _root.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok(); // persistent_chat_blobs=true in LlmApp

        var after = await _root.GetAsync($"/admin/v1/buffers/conversations/{seq * 10000}").Ok();
        Assert.True(after!["extracted"]!.GetValue<bool>());
        Assert.Equal(2, (await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}&state=extracted").Ok())!["list"]!.AsArray().Count);
        Assert.Empty((await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}&state=pending").Ok())!["list"]!.AsArray());
        Assert.Equal(2, (await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}&state=all").Ok())!["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task Conversation_list_pages_by_message_and_filters_by_session()
    {
        var user = await _root.CreateUserAsync();
        var blobs = new List<string>();
        for (var b = 0; b < 3; b++)
        {
            var json = Http.ChatBlob(("user", $"blob {b} message 0"), ("assistant", $"blob {b} message 1"));
            blobs.Add((await _root.PostJson($"/api/v1/blobs/insert/{user}", json).Ok())!["id"]!.GetValue<string>());
        }

        var first = await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}&pageNo=1&pageSize=4").Ok();
        Assert.Equal(6, first!["total"]!.GetValue<long>());
        Assert.Equal(["blob 2 message 0", "blob 2 message 1", "blob 1 message 0", "blob 1 message 1"],
            first["list"]!.AsArray().Select(m => m!["content"]!.GetValue<string>()).ToArray());
        var second = await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}&page=2&pageSize=4").Ok();
        Assert.Equal(2, second!["current"]!.GetValue<int>());
        Assert.Equal(["blob 0 message 0", "blob 0 message 1"], second["list"]!.AsArray().Select(m => m!["content"]!.GetValue<string>()).ToArray());

        var session = await _root.GetAsync($"/admin/v1/buffers/conversations?sessionId={blobs[1]}").Ok();
        Assert.Equal(2, session!["total"]!.GetValue<long>());
        Assert.All(session["list"]!.AsArray(), m => Assert.Equal(blobs[1], m!["sessionId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Marking_extracted_skips_processing_and_delete_removes_the_blob()
    {
        var user = await _root.CreateUserAsync();
        var keep = (await _root.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Ann and I play chess"))).Ok())!["id"]!.GetValue<string>();
        var gone = (await _root.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "drop me"), ("assistant", "ok"))).Ok())!["id"]!.GetValue<string>();
        var list = (await _root.GetAsync($"/admin/v1/buffers/conversations?memoryId={user}").Ok())!["list"]!.AsArray();
        long IdOf(string blob) => list.First(m => m!["sessionId"]!.GetValue<string>() == blob)!["id"]!.GetValue<long>();

        var marked = await _root.PatchAsync("/admin/v1/buffers/conversations/extracted",
            JsonContent.Create(new { ids = new[] { IdOf(keep), 999_999_999_0000L } })).Ok();
        Assert.Equal(1, marked!["updatedCount"]!.GetValue<int>());
        Assert.Equal([user.ToString()], marked["affectedMemoryIds"]!.AsArray().Select(x => x!.GetValue<string>()).ToArray());
        Assert.True((await _root.GetAsync($"/admin/v1/buffers/conversations/{IdOf(keep)}").Ok())!["extracted"]!.GetValue<bool>());
        // marking again changes nothing: the entry is no longer pending
        Assert.Equal(0, (await _root.PatchAsync("/admin/v1/buffers/conversations/extracted",
            JsonContent.Create(new { ids = new[] { IdOf(keep) } })).Ok())!["updatedCount"]!.GetValue<int>());

        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/admin/v1/buffers/conversations")
        {
            Content = JsonContent.Create(new { ids = new[] { IdOf(gone) + 1 } }),
        };
        var deleted = await _root.SendAsync(delete).Ok();
        Assert.Equal(2, deleted!["deletedCount"]!.GetValue<int>()); // the whole blob: both messages
        await _root.GetAsync($"/api/v1/blobs/{user}/{gone}").Fails(404);
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE blob_id = $1", Guid.Parse(gone)));

        // the extracted entry is not processed by a flush: nothing is idle, so no LLM call and no profile
        var calls = app.Fake.ChatRequests.Count;
        Assert.Empty((await _root.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok())!.AsArray());
        Assert.Equal(calls, app.Fake.ChatRequests.Count);
        Assert.Empty((await _root.GetAsync($"/api/v1/users/profile/{user}").Ok())!["profiles"]!.AsArray());
    }

    [Fact]
    public async Task Mark_and_delete_validate_their_ids()
    {
        await _root.PatchAsync("/admin/v1/buffers/conversations/extracted", JsonContent.Create(new { ids = Array.Empty<long>() })).Invalid("body", "ids");
        await _root.PatchAsync("/admin/v1/buffers/conversations/extracted", JsonContent.Create(new { })).Invalid("body", "ids");
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/admin/v1/buffers/conversations") { Content = JsonContent.Create(new { ids = new[] { -1L } }) };
        await _root.SendAsync(delete).Invalid("body", "ids", 0);
    }

    [Fact]
    public async Task Conversation_list_validates_its_filters()
    {
        await _root.GetAsync("/admin/v1/buffers/conversations?state=waiting").Invalid("query", "state");
        await _root.GetAsync("/admin/v1/buffers/conversations?memoryId=abc").Invalid("query", "memoryId");
        await _root.GetAsync("/admin/v1/buffers/conversations?sessionId=abc").Invalid("query", "sessionId");
        await _root.GetAsync("/admin/v1/buffers/conversations?pageSize=0").Invalid("query", "pageSize");
        await _root.GetAsync("/admin/v1/buffers/conversations?pageSize=101").Invalid("query", "pageSize");
        await _root.GetAsync("/admin/v1/buffers/conversations?pageNo=0").Invalid("query", "pageNo");
    }

    [Fact]
    public async Task Jobs_are_listed_by_status_and_shown_with_attempts_tokens_and_timings()
    {
        var user = await _root.CreateUserAsync();
        await _root.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Gus and I like pizza"))).Ok();
        await _root.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

        var done = await _root.GetAsync($"/admin/v1/jobs?status=done&user_id={user}").Ok();
        var job = done!["jobs"]!.AsArray().Single()!;
        Assert.Equal(1, done["total"]!.GetValue<long>());
        Assert.Equal("flush", job["trigger"]!.GetValue<string>());
        Assert.Empty((await _root.GetAsync($"/admin/v1/jobs?status=failed&user_id={user}").Ok())!["jobs"]!.AsArray());
        await _root.GetAsync("/admin/v1/jobs?status=finished").Invalid("query", "status");

        var detail = await _root.GetAsync($"/admin/v1/jobs/{job["id"]}").Ok();
        Assert.Equal(3, detail!["llm_calls"]!.GetValue<int>());
        Assert.True(detail["prompt_tokens"]!.GetValue<int>() > 0);
        Assert.True(detail["completion_tokens"]!.GetValue<int>() > 0);
        Assert.Equal(0, detail["truncated_count"]!.GetValue<int>());
        Assert.NotNull(detail["processing_ms"]);
        Assert.NotNull(detail["result"]!["event_id"]);
        var attempt = detail["attempts"]!.AsArray().Single()!;
        Assert.Equal("done", attempt["outcome"]!.GetValue<string>());
        Assert.Equal(3, attempt["llm_calls"]!.GetValue<int>());
        await _root.GetAsync($"/admin/v1/jobs/{Guid.NewGuid()}").Fails(404);
    }

    [Fact]
    public async Task Project_tokens_cannot_use_the_admin_api()
    {
        var token = (await _root.PostJson("/admin/v1/projects", new { project_id = "admin-denied" }).Ok())!["token"]!.GetValue<string>();
        using var response = await app.Client(token).GetAsync("/admin/v1/jobs");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
