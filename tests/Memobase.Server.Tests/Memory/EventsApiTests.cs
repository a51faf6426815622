using System.Text.Json.Nodes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tokenization;

namespace Memobase.Server.Tests.Memory;

public sealed class EventsApiTests(MemoryApp app) : IClassFixture<MemoryApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task<List<JsonNode>> Events(Guid user, string query = "", HttpClient? client = null)
    {
        var data = await (client ?? _client).GetAsync($"/api/v1/users/event/{user}{query}").Ok();
        Assert.Empty(data!["gists"]!.AsArray()); // the key is always present
        return data["events"]!.AsArray().Select(e => e!).ToList();
    }

    private async Task<List<string>> TagSearch(Guid user, string query)
    {
        var data = await _client.GetAsync($"/api/v1/users/event_tags/search/{user}{query}").Ok();
        Assert.Empty(data!["gists"]!.AsArray());
        return data["events"]!.AsArray().Select(e => e!["event_data"]!["event_tip"]!.GetValue<string>()).ToList();
    }

    private static List<string> Tips(List<JsonNode> events) => events.Select(e => e["event_data"]!["event_tip"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task A_flushed_chat_becomes_an_event_with_tip_tags_and_profile_delta()
    {
        var project = await app.ProjectClientAsync("events-pipeline");
        await project.PostJson("/api/v1/project/profile_config", new { profile_config = "event_tags:\n  - emotion\n  - goal\n" }).Ok();
        var user = await project.CreateUserAsync();
        await project.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "Hi, I'm Gus and I love pizza"), ("assistant", "Nice!"))).Ok();
        await project.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

        var ev = Assert.Single(await Events(user, "?topk=5", project));
        var data = ev["event_data"]!;
        Assert.Contains("Gus", data["event_tip"]!.GetValue<string>());
        Assert.Equal("""[{"tag":"emotion","value":"happy"}]""", data["event_tags"]!.ToJsonString());
        var delta = data["profile_delta"]!.AsArray();
        Assert.Equal(2, delta.Count);
        Assert.Contains(delta, d => d!["content"]!.GetValue<string>() == "Gus" && d["attributes"]!["sub_topic"]!.GetValue<string>() == "name");
        Assert.Null(ev["similarity"]);
        Seed.Timestamp(ev["created_at"]);
        Seed.Timestamp(ev["updated_at"]);
        Guid.Parse(ev["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Get_returns_the_newest_events_of_the_last_21_days_and_profile_delta_is_always_a_list()
    {
        var user = await _client.CreateUserAsync();
        await app.TaggedEventAsync(user, "old", 30);
        await app.TaggedEventAsync(user, "e3", 3);
        await app.TaggedEventAsync(user, "e2", 2);
        await app.EventAsync(user, new JsonObject { ["event_tip"] = "e1", ["profile_delta"] = null, ["event_tags"] = null }, 1);

        var events = await Events(user);
        Assert.Equal(["e1", "e2", "e3"], Tips(events));
        Assert.Equal("[]", events[0]["event_data"]!["profile_delta"]!.ToJsonString());
        Assert.Null(events[0]["event_data"]!["event_tags"]);
        Assert.Equal(["e1", "e2"], Tips(await Events(user, "?topk=2")));
        Assert.Empty(await Events(user, "?topk=0"));
        Assert.Equal(["e1", "e2", "e3"], Tips(await Events(user, "?topk=5&&need_summary=True")));
        Assert.Empty(await Events(Guid.NewGuid()));

        await _client.GetAsync($"/api/v1/users/event/{user}?topk=x").Invalid("query", "topk");
        await _client.GetAsync($"/api/v1/users/event/{user}?topk=-1").Invalid("query", "topk");
        await _client.GetAsync("/api/v1/users/event/123").Invalid("path", "user_id");
    }

    [Fact]
    public async Task Max_token_size_keeps_events_while_their_running_token_total_fits()
    {
        var user = await _client.CreateUserAsync();
        await app.EventAsync(user, Seed.EventData(null, null, ("work", "title", "engineer"), ("interest", "music", "jazz")), 3);
        await app.TaggedEventAsync(user, "went hiking with friends", 2);
        await app.TaggedEventAsync(user, "felt great today", 1, ("emotion", "happy"), ("goal", "rest"));

        // upstream's event_str_repr: tags then tip, or the delta lines when there is no tip
        var texts = new[]
        {
            "- emotion: happy\n- goal: rest\nfelt great today",
            "\nwent hiking with friends",
            "- work::title: engineer\n- interest::music: jazz",
        };
        var t = texts.Select(O200kTokenizer.Instance.CountTokens).ToArray();

        Assert.Equal(3, (await Events(user, $"?max_token_size={t[0] + t[1] + t[2]}")).Count);
        Assert.Equal(2, (await Events(user, $"?max_token_size={t[0] + t[1] + t[2] - 1}")).Count);
        Assert.Equal(["felt great today"], Tips(await Events(user, $"?max_token_size={t[0] + t[1] - 1}")));
        Assert.Empty(await Events(user, $"?max_token_size={t[0] - 1}"));
    }

    [Fact]
    public async Task Put_merges_non_null_top_level_keys_into_the_event_data()
    {
        var user = await _client.CreateUserAsync();
        var id = await app.EventAsync(user, Seed.EventData("original", [("emotion", "happy")], ("basic_info", "name", "Gus")));

        await _client.PutJson($"/api/v1/users/event/{user}/{id}", """{"event_tip":"test","event_tags":null,"unknown":1}""").Ok();
        var data = Assert.Single(await Events(user))["event_data"]!;
        Assert.Equal("test", data["event_tip"]!.GetValue<string>());
        Assert.Equal("""[{"tag":"emotion","value":"happy"}]""", data["event_tags"]!.ToJsonString());
        Assert.Equal("Gus", data["profile_delta"]![0]!["content"]!.GetValue<string>());
        var stored = JsonNode.Parse(await app.ScalarAsync<string>("SELECT event_data::text FROM user_events WHERE id = $1", id))!;
        Assert.Null(stored["unknown"]);

        await _client.PutJson($"/api/v1/users/event/{user}/{id}",
            """{"event_tags":[{"tag":"goal","value":"run","x":1}],"profile_delta":[{"content":"Bob","attributes":null}]}""").Ok();
        data = Assert.Single(await Events(user))["event_data"]!;
        Assert.Equal("test", data["event_tip"]!.GetValue<string>());
        Assert.Equal("""[{"tag":"goal","value":"run"}]""", data["event_tags"]!.ToJsonString());
        Assert.Equal("""[{"content":"Bob","attributes":null}]""", data["profile_delta"]!.ToJsonString());

        await _client.PutJson($"/api/v1/users/event/{user}/{id}", "{}").Ok(); // nothing to change
        Assert.Equal("test", Assert.Single(await Events(user))["event_data"]!["event_tip"]!.GetValue<string>());

        var missing = Guid.NewGuid();
        Assert.Equal($"User event {missing} not found", await _client.PutJson($"/api/v1/users/event/{user}/{missing}", """{"event_tip":"x"}""").Fails(404));
        await _client.PutJson($"/api/v1/users/event/{user}/{id}", """{"event_tip":5}""").Invalid("body", "event_tip");
        await _client.PutJson($"/api/v1/users/event/{user}/{id}", """{"event_tags":[{"tag":"a"}]}""").Invalid("body", "event_tags", 0, "value");
        await _client.PutJson($"/api/v1/users/event/{user}/{id}", """{"profile_delta":[{"content":"x"}]}""").Invalid("body", "profile_delta", 0, "attributes");
        await _client.PutJson($"/api/v1/users/event/{user}/{id}", """{"profile_delta":{}}""").Invalid("body", "profile_delta");
        await _client.PutJson($"/api/v1/users/event/{user}/{id}", "[]").Invalid("body");
        Assert.Equal("test", Assert.Single(await Events(user))["event_data"]!["event_tip"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delete_removes_the_event_and_its_gists()
    {
        var user = await _client.CreateUserAsync();
        var keep = await app.TaggedEventAsync(user, "keep", 1);
        var id = await app.TaggedEventAsync(user, "drop", 0);
        await app.GistAsync(user, id, "- gist of drop");
        await app.GistAsync(user, keep, "- gist of keep");

        await _client.DeleteAsync($"/api/v1/users/event/{user}/{id}").Ok();
        Assert.Equal(["keep"], Tips(await Events(user)));
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM user_event_gists WHERE event_id = $1", id));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_event_gists WHERE user_id = $1", user));
        Assert.Equal($"User event {id} not found", await _client.DeleteAsync($"/api/v1/users/event/{user}/{id}").Fails(404));
        await _client.DeleteAsync($"/api/v1/users/event/{user}/not-a-uuid").Invalid("path", "event_id");
    }

    [Fact]
    public async Task Tag_search_requires_every_tag_and_every_tag_value()
    {
        var user = await _client.CreateUserAsync();
        await app.TaggedEventAsync(user, "happy", 5, ("emotion", "happy"));
        await app.TaggedEventAsync(user, "sad goal", 4, ("emotion", "sad"), ("goal", "travel"));
        await app.TaggedEventAsync(user, "happy goal", 3, ("emotion", "happy"), ("goal", "run"));
        await app.EventAsync(user, Seed.EventData("empty tags", []), 2);
        await app.TaggedEventAsync(user, "no tags", 1);

        Assert.Equal(["happy goal", "sad goal", "happy"], await TagSearch(user, "?tags=emotion"));
        Assert.Empty(await TagSearch(user, "?tags=emotion,nonexistent"));
        Assert.Equal(["happy goal", "sad goal"], await TagSearch(user, "?tags=emotion,%20goal"));
        Assert.Equal(["happy goal", "happy"], await TagSearch(user, "?tag_values=emotion=happy"));
        Assert.Empty(await TagSearch(user, "?tag_values=emotion=angry"));
        Assert.Equal(["sad goal"], await TagSearch(user, "?tag_values=emotion=sad,goal=travel"));
        Assert.Empty(await TagSearch(user, "?tag_values=emotion=sad,goal=run"));
        Assert.Equal(["happy goal"], await TagSearch(user, "?tags=goal&tag_values=emotion=happy"));
        Assert.Equal(["happy goal"], await TagSearch(user, "?tags=emotion&topk=1"));
        Assert.Equal(["happy goal", "happy"], await TagSearch(user, "?tag_values=emotion=sad,emotion=happy")); // last value wins, as upstream's dict
        Assert.Equal(["happy goal", "sad goal", "happy"], await TagSearch(user, "?tag_values=emotion&tags=emotion")); // a pair without '=' is ignored

        // no filter: the newest topk events, tagged or not
        Assert.Equal(["no tags", "empty tags", "happy goal", "sad goal", "happy"], await TagSearch(user, ""));
        Assert.Equal(["no tags", "empty tags"], await TagSearch(user, "?topk=2&tags=,"));
        await _client.GetAsync($"/api/v1/users/event_tags/search/{user}?topk=-2").Invalid("query", "topk");
    }

    [Fact]
    public async Task Another_project_cannot_read_change_or_delete_the_events()
    {
        var other = await app.ProjectClientAsync("events-iso");
        var user = await _client.CreateUserAsync();
        var id = await app.TaggedEventAsync(user, "mine", 0, ("emotion", "happy"));

        Assert.Empty(await Events(user, client: other));
        Assert.Empty((await other.GetAsync($"/api/v1/users/event_tags/search/{user}?tags=emotion").Ok())!["events"]!.AsArray());
        await other.PutJson($"/api/v1/users/event/{user}/{id}", """{"event_tip":"hacked"}""").Fails(404);
        await other.DeleteAsync($"/api/v1/users/event/{user}/{id}").Fails(404);
        Assert.Equal(["mine"], Tips(await Events(user)));
    }
}
