using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tokenization;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Memory;

public sealed class ProfilesApiTests(MemoryApp app) : IClassFixture<MemoryApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task<List<JsonNode>> Profiles(Guid user, string query = "", HttpClient? client = null)
    {
        var data = await (client ?? _client).GetAsync($"/api/v1/users/profile/{user}{query}").Ok();
        return data!["profiles"]!.AsArray().Select(p => p!).ToList();
    }

    private static List<string> Contents(List<JsonNode> profiles) => profiles.Select(p => p["content"]!.GetValue<string>()).ToList();

    /// <summary>Five profiles; updated_at order (newest first): swim, pizza, gus, sushi, paris.</summary>
    private async Task<Guid> UserWithProfilesAsync()
    {
        var user = await _client.CreateUserAsync();
        await _client.ProfileAsync(app, user, "interest", "sports", "swim", 1);
        await _client.ProfileAsync(app, user, "interest", "foods", "pizza", 2);
        await _client.ProfileAsync(app, user, "basic_info", "name", "gus", 3);
        await _client.ProfileAsync(app, user, "interest", "foods_2", "sushi", 4);
        await _client.ProfileAsync(app, user, "contact_info", "city", "paris", 5);
        return user;
    }

    [Fact]
    public async Task Add_get_update_and_delete_round_trip_with_exact_attributes()
    {
        var user = await _client.CreateUserAsync();
        var created = await _client.PostJson($"/api/v1/users/profile/{user}",
            """{"content":"Likes pizza","attributes":{"topic":"interest","sub_topic":"foods","extra":1}}""").Ok();
        var id = created!["id"]!.GetValue<string>();

        var profile = Assert.Single(await Profiles(user));
        Assert.Equal(id, profile["id"]!.GetValue<string>());
        Assert.Equal("Likes pizza", profile["content"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"topic":"interest","sub_topic":"foods","extra":1}"""), profile["attributes"]),
            profile["attributes"]!.ToJsonString());
        var createdAt = Seed.Timestamp(profile["created_at"]);
        Seed.Timestamp(profile["updated_at"]);
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - createdAt).TotalMinutes) < 5);

        await _client.PutJson($"/api/v1/users/profile/{user}/{id}", """{"content":"Loves sushi","attributes":{"topic":"interest","sub_topic":"sushi"}}""").Ok();
        profile = Assert.Single(await Profiles(user));
        Assert.Equal("Loves sushi", profile["content"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"topic":"interest","sub_topic":"sushi"}"""), profile["attributes"]));

        // attributes null: only the content changes
        await _client.PutJson($"/api/v1/users/profile/{user}/{id}", """{"content":"Loves ramen","attributes":null}""").Ok();
        profile = Assert.Single(await Profiles(user));
        Assert.Equal("Loves ramen", profile["content"]!.GetValue<string>());
        Assert.Equal("sushi", profile["attributes"]!["sub_topic"]!.GetValue<string>());

        // PUT of an unknown profile is a success that changes nothing (upstream quirk)
        await _client.PutJson($"/api/v1/users/profile/{user}/{Guid.NewGuid()}", """{"content":"x","attributes":null}""").Ok();
        Assert.Equal(["Loves ramen"], Contents(await Profiles(user)));

        await _client.DeleteAsync($"/api/v1/users/profile/{user}/{id}").Ok();
        Assert.Empty(await Profiles(user));
        var message = await _client.DeleteAsync($"/api/v1/users/profile/{user}/{id}").Fails(404);
        Assert.Equal($"Profile {id} not found for user {user}", message);
    }

    [Fact]
    public async Task Bad_bodies_are_422_and_bad_attributes_are_errno_520()
    {
        var user = await _client.CreateUserAsync();
        var url = $"/api/v1/users/profile/{user}";
        await _client.PostJson(url, """{"content":"x"}""").Invalid("body", "attributes");
        await _client.PostJson(url, """{"attributes":null}""").Invalid("body", "content");
        await _client.PostJson(url, """{"content":5,"attributes":null}""").Invalid("body", "content");
        await _client.PostJson(url, """{"content":"x","attributes":[1]}""").Invalid("body", "attributes");
        await _client.PostJson(url, "[]").Invalid("body");
        await _client.PutJson($"{url}/{Guid.NewGuid()}", """{"content":"x"}""").Invalid("body", "attributes");

        Assert.StartsWith("Invalid profile attributes: ", await _client.PostJson(url, """{"content":"x","attributes":null}""").Fails(520));
        Assert.Equal("Invalid profile attributes: sub_topic: Field required",
            await _client.PostJson(url, """{"content":"x","attributes":{"topic":"t"}}""").Fails(520));
        Assert.Equal("Invalid profile attributes: topic: Input should be a valid string",
            await _client.PostJson(url, """{"content":"x","attributes":{"topic":1,"sub_topic":"s"}}""").Fails(520));
        Assert.Empty(await Profiles(user));

        var missing = Guid.NewGuid();
        Assert.Equal($"User {missing} not found",
            await _client.PostJson($"/api/v1/users/profile/{missing}", """{"content":"x","attributes":{"topic":"a","sub_topic":"b"}}""").Fails(404));

        await _client.GetAsync("/api/v1/users/profile/not-a-uuid").Invalid("path", "user_id");
        await _client.DeleteAsync($"/api/v1/users/profile/{user}/123").Invalid("path", "profile_id");
        await _client.GetAsync($"/api/v1/users/profile/{user}?topk=abc").Invalid("query", "topk");
        await _client.GetAsync($"/api/v1/users/profile/{user}?topk=-1").Invalid("query", "topk");
    }

    [Fact]
    public async Task Profiles_come_newest_first_and_prefer_topics_moves_topics_to_the_front_in_list_order()
    {
        var user = await UserWithProfilesAsync();
        Assert.Equal(["swim", "pizza", "gus", "sushi", "paris"], Contents(await Profiles(user)));

        // The server test: prefer_topics=interest&topk=1 → the interest profile.
        var top = Assert.Single(await Profiles(user, "?prefer_topics=interest&topk=1"));
        Assert.Equal("interest", top["attributes"]!["topic"]!.GetValue<string>());

        Assert.Equal(["paris", "gus", "swim", "pizza", "sushi"],
            Contents(await Profiles(user, "?prefer_topics=contact_info&prefer_topics=basic_info")));
        Assert.Equal(["gus", "swim", "pizza", "sushi", "paris"], Contents(await Profiles(user, "?prefer_topics=%20basic_info%20")));
        Assert.Equal(["swim", "pizza", "gus"], Contents(await Profiles(user, "?topk=3")));
    }

    [Fact]
    public async Task Only_topics_max_subtopic_size_and_topic_limits_filter_per_topic()
    {
        var user = await UserWithProfilesAsync();
        Assert.Equal(["swim", "pizza", "sushi"], Contents(await Profiles(user, "?only_topics=interest")));
        Assert.Empty(await Profiles(user, "?only_topics=unknown"));

        Assert.Equal(["swim", "gus", "paris"], Contents(await Profiles(user, "?max_subtopic_size=1")));
        Assert.Equal(["swim", "pizza", "gus", "paris"], Contents(await Profiles(user, "?max_subtopic_size=2")));
        Assert.Equal(["swim", "pizza", "gus", "sushi", "paris"], Contents(await Profiles(user, "?max_subtopic_size=0")));

        // topic_limits_json overrides max_subtopic_size for its topics; 0 keeps none of that topic
        var limits = Seed.Q("""{"interest": 2, "contact_info": 0}""");
        Assert.Equal(["swim", "pizza", "gus"], Contents(await Profiles(user, $"?max_subtopic_size=1&topic_limits_json={limits}")));
        Assert.Equal(["swim", "pizza", "gus"], Contents(await Profiles(user, $"?max_subtopic_size=1&topic_limits={limits}"))); // TS SDK's name
        Assert.Equal(["swim", "pizza", "sushi", "paris"],
            Contents(await Profiles(user, $"?topic_limits_json={Seed.Q("""{"basic_info": 0}""")}")));
    }

    [Fact]
    public async Task Only_topics_with_two_topics()
    {
        var user = await UserWithProfilesAsync();
        Assert.Equal(["swim", "pizza", "gus", "sushi"], Contents(await Profiles(user, "?only_topics=interest&only_topics=basic_info")));
        Assert.Equal(["gus", "swim", "pizza"], Contents(await Profiles(user, "?only_topics=interest&only_topics=basic_info&prefer_topics=basic_info&topk=3")));
    }

    [Fact]
    public async Task Max_token_size_cuts_at_the_first_overflow_but_keeps_at_least_one()
    {
        var user = await UserWithProfilesAsync();
        var lines = new[] { "interest::sports: swim", "interest::foods: pizza", "basic_info::name: gus" };
        var tokens = lines.Select(O200kTokenizer.Instance.CountTokens).ToArray();

        Assert.Equal(["swim", "pizza"], Contents(await Profiles(user, $"?max_token_size={tokens[0] + tokens[1]}")));
        Assert.Equal(["swim", "pizza"], Contents(await Profiles(user, $"?max_token_size={tokens[0] + tokens[1] + tokens[2] - 1}")));
        Assert.Equal(["swim", "pizza", "gus"], Contents(await Profiles(user, $"?max_token_size={tokens[0] + tokens[1] + tokens[2]}")));
        Assert.Equal(["swim"], Contents(await Profiles(user, "?max_token_size=1"))); // the first one alone overflows: still kept
        Assert.Equal(5, (await Profiles(user, "?max_token_size=0")).Count); // 0 means no limit
    }

    [Fact]
    public async Task Bad_json_in_topic_limits_or_chats_is_errno_400()
    {
        var user = await UserWithProfilesAsync();
        var message = await _client.GetAsync($"/api/v1/users/profile/{user}?topic_limits_json={Seed.Q("{not json")}").Fails(400);
        Assert.StartsWith("Invalid JSON requests: topic_limits_json", message);
        Assert.Equal("Invalid JSON requests: topic_limits_json.interest: Input should be a valid integer",
            await _client.GetAsync($"/api/v1/users/profile/{user}?topic_limits_json={Seed.Q("""{"interest":"many"}""")}").Fails(400));
        Assert.Equal("Invalid JSON requests: topic_limits_json: Input should be a valid dictionary",
            await _client.GetAsync($"/api/v1/users/profile/{user}?topic_limits={Seed.Q("[1]")}").Fails(400));
        Assert.StartsWith("Invalid JSON requests: chats_str",
            await _client.GetAsync($"/api/v1/users/profile/{user}?chats_str={Seed.Q("[{")}").Fails(400));
        Assert.Equal("Invalid JSON requests: chats_str.0.role: Input should be 'user' or 'assistant'",
            await _client.GetAsync($"/api/v1/users/profile/{user}?chats_str={Seed.Q("""[{"role":"system","content":"x"}]""")}").Fails(400));
        // Numeric strings are integers to pydantic too.
        Assert.Equal(["swim", "gus", "paris"], Contents(await Profiles(user, $"?topic_limits_json={Seed.Q("""{"interest":"1"}""")}")));
    }

    [Fact]
    public async Task Chats_str_lets_the_llm_pick_relevant_profiles_and_a_failure_keeps_them_all()
    {
        var user = await UserWithProfilesAsync();
        var chats = Seed.Q("""[{"role":"user","content":"What should I eat tonight?"}]""");
        // Candidates are numbered by (topic, sub_topic): 0 basic_info/name, 1 contact_info/city, 2 interest/foods,
        // 3 interest/foods_2, 4 interest/sports.
        app.Fake.ChatHandler = r => r.Stage == PromptStages.ProfileFilter ? FakeReply.Text("""{"reason":"food","ids":[2, 3, 99]}""") : FakeReply.Default;
        try
        {
            app.Fake.Reset();
            Assert.Equal(["pizza", "sushi"], Contents(await Profiles(user, $"?chats_str={chats}")));
            var request = Assert.Single(app.Fake.RequestsFor(PromptStages.ProfileFilter));
            Assert.Contains("What should I eat tonight?", request.User);

            // only_topics restricts the candidates: 0 interest/foods, 1 interest/foods_2, 2 interest/sports
            Assert.Equal(["swim"], Contents(await Profiles(user, $"?chats_str={chats}&only_topics=interest&topk=1")));

            app.Fake.ChatHandler = r => r.Stage == PromptStages.ProfileFilter ? FakeReply.Status(500) : FakeReply.Default;
            Assert.Equal(5, (await Profiles(user, $"?chats_str={chats}")).Count);
            app.Fake.ChatHandler = r => r.Stage == PromptStages.ProfileFilter ? FakeReply.Text("no list here") : FakeReply.Default;
            Assert.Equal(5, (await Profiles(user, $"?chats_str={chats}")).Count);

            // Empty chats: no LLM call.
            app.Fake.Reset();
            Assert.Equal(5, (await Profiles(user, "?chats_str=%5B%5D")).Count);
            Assert.Empty(app.Fake.RequestsFor(PromptStages.ProfileFilter));
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task Python_sdk_query_strings_with_empty_segments_work()
    {
        var user = await UserWithProfilesAsync();
        var top = Assert.Single(await Profiles(user, "?max_token_size=1000&&prefer_topics=contact_info&&topk=1&"));
        Assert.Equal("paris", top["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_users_have_no_profiles()
    {
        Assert.Empty(await Profiles(Guid.NewGuid()));
    }

    [Fact]
    public async Task Another_project_cannot_read_change_or_delete_the_profiles()
    {
        var other = await app.ProjectClientAsync("profiles-iso");
        var user = await _client.CreateUserAsync();
        var id = await _client.ProfileAsync(app, user, "interest", "foods", "pizza", 1);

        Assert.Empty(await Profiles(user, client: other));
        await other.PutJson($"/api/v1/users/profile/{user}/{id}", """{"content":"hacked","attributes":null}""").Ok();
        await other.DeleteAsync($"/api/v1/users/profile/{user}/{id}").Fails(404);
        await other.PostJson($"/api/v1/users/profile/{user}", """{"content":"x","attributes":{"topic":"a","sub_topic":"b"}}""").Fails(404);
        Assert.Equal(["pizza"], Contents(await Profiles(user)));

        // the same user id in the other project has its own profiles
        await other.PostJson("/api/v1/users", new { id = user.ToString() }).Ok();
        await other.ProfileAsync(app, user, "basic_info", "name", "other", 1);
        Assert.Equal(["other"], Contents(await Profiles(user, client: other)));
        Assert.Equal(["pizza"], Contents(await Profiles(user)));
    }
}
