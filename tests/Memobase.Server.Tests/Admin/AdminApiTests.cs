using System.Net;
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
        var entryId = await app.ScalarAsync<Guid>("SELECT id FROM buffer_entries WHERE blob_id = $1", Guid.Parse(blob));

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
            Assert.Equal(entryId.ToString(), view["memoryId"]!.GetValue<string>());
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

        var pending = await _root.GetAsync($"/admin/v1/buffers/conversations?user_id={user}&state=pending").Ok();
        Assert.Equal(2, pending!["items"]!.AsArray().Count);
        Assert.Equal(1, pending["total"]!.GetValue<long>());
        Assert.Empty((await _root.GetAsync($"/admin/v1/buffers/conversations?user_id={user}&state=extracted").Ok())!["items"]!.AsArray());

        await _root.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok(); // persistent_chat_blobs=true in LlmApp

        var after = await _root.GetAsync($"/admin/v1/buffers/conversations/{seq * 10000}").Ok();
        Assert.True(after!["extracted"]!.GetValue<bool>());
        Assert.Equal(2, (await _root.GetAsync($"/admin/v1/buffers/conversations?user_id={user}&state=extracted").Ok())!["items"]!.AsArray().Count);
        Assert.Empty((await _root.GetAsync($"/admin/v1/buffers/conversations?user_id={user}&state=pending").Ok())!["items"]!.AsArray());
    }

    [Fact]
    public async Task Conversation_list_validates_its_filters()
    {
        await _root.GetAsync("/admin/v1/buffers/conversations?state=waiting").Invalid("query", "state");
        await _root.GetAsync("/admin/v1/buffers/conversations?user_id=abc").Invalid("query", "user_id");
        await _root.GetAsync("/admin/v1/buffers/conversations?page_size=0").Invalid("query", "page_size");
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
