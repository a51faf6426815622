using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tokenization;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Memory;

public sealed class ContextApiTests(MemoryApp app) : IClassFixture<MemoryApp>
{
    private readonly HttpClient _client = app.Client();

    private const string Swim = "interest::sports: swim";
    private const string Gus = "basic_info::name: gus";
    private const string G1 = "- [2025/01/14] user: I went to the gym and lifted weights for two hours // info";
    private const string G2 = "- [2025/01/13] user: I cooked a big pot of chili for my neighbours // info";
    private const string G3 = "- ok";
    private const string GOld = "- an event from last year";

    private static int Tokens(string text) => O200kTokenizer.Instance.CountTokens(text);

    private static string Expected(string profileSection, string eventSection) =>
        "---\n# Memory\nUnless the user has relevant queries, do not actively mention those memories in the conversation.\n" +
        $"## User Current Profile:\n{profileSection}\n\n## Past Events:\n{eventSection}\n---\n";

    private async Task<string> Context(Guid user, string query = "", HttpClient? client = null)
        => (await (client ?? _client).GetAsync($"/api/v1/users/context/{user}{query}").Ok())!["context"]!.GetValue<string>();

    /// <summary>Profiles swim (newest), gus; gists G1 (newest), G2, G3, and GOld (200 days old).</summary>
    private async Task<Guid> UserWithMemoryAsync(float[]? v1 = null, float[]? v2 = null, float[]? v3 = null)
    {
        var user = await _client.CreateUserAsync();
        await _client.ProfileAsync(app, user, "interest", "sports", "swim", 1);
        await _client.ProfileAsync(app, user, "basic_info", "name", "gus", 2);
        var ev = await app.TaggedEventAsync(user, "tip", 1);
        await app.GistAsync(user, ev, GOld, 200, v1);
        await app.GistAsync(user, ev, G3, 0.3, v3);
        await app.GistAsync(user, ev, G2, 0.2, v2);
        await app.GistAsync(user, ev, G1, 0.1, v1);
        return user;
    }

    [Fact]
    public async Task A_user_without_memories_gets_the_template_with_a_lone_dash()
    {
        var user = await _client.CreateUserAsync();
        Assert.Equal(Expected("- ", ""), await Context(user));
        Assert.Equal(Expected("- ", ""), await Context(Guid.NewGuid()));
    }

    [Fact]
    public async Task Profiles_and_the_newest_gists_of_the_time_range_fill_upstreams_template()
    {
        var user = await UserWithMemoryAsync();
        Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}\n{G2}\n{G3}"), await Context(user));
        Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}\n{G2}\n{G3}\n{GOld}"), await Context(user, "?time_range_in_days=365"));
        Assert.Equal(Expected($"- {Swim}", $"{G1}\n{G2}\n{G3}"), await Context(user, "?only_topics=interest"));
        Assert.Equal(Expected($"- {Gus}\n- {Swim}", $"{G1}\n{G2}\n{G3}"), await Context(user, "?prefer_topics=basic_info"));
        Assert.Equal(Expected($"- {Gus}", $"{G1}\n{G2}\n{G3}"), await Context(user, $"?topic_limits_json={Seed.Q("""{"interest":0}""")}"));
        Assert.Equal(Expected($"- {Gus}", $"{G1}\n{G2}\n{G3}"), await Context(user, $"?topic_limits={Seed.Q("""{"interest":0}""")}"));
        Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}\n{G2}\n{G3}"), await Context(user, "?max_subtopic_size=1&require_event_summary=true"));
        // Python SDK style
        Assert.Equal(Expected($"- {Gus}\n- {Swim}", $"{G1}\n{G2}\n{G3}"),
            await Context(user, "?max_token_size=1000&&prefer_topics=basic_info&&full_profile_and_only_search_event=True&&fill_window_with_events=False&"));
    }

    [Fact]
    public async Task The_budget_splits_between_profiles_and_events_and_fill_window_gives_events_the_rest()
    {
        var user = await UserWithMemoryAsync();
        var t1 = Tokens(G1);
        var t2 = Tokens(G2);
        var profileSection = $"- {Swim}\n- {Gus}";
        Assert.True(Tokens(G3) + Tokens(profileSection) <= t1 + t2, "test data: G3 and the profiles must fit in the rest");

        // ratio 0.5 of 2(t1+t2): profiles may use t1+t2 (both fit), events get min(max - profile tokens, max - profile budget) = t1+t2
        var max = 2 * (t1 + t2);
        Assert.Equal(Expected(profileSection, $"{G1}\n{G2}"), await Context(user, $"?max_token_size={max}&profile_event_ratio=0.5"));
        Assert.Equal(Expected(profileSection, $"{G1}"), await Context(user, $"?max_token_size={max - 2}&profile_event_ratio=0.5"));
        // fill_window_with_events: events get max - profile tokens
        Assert.Equal(Expected(profileSection, $"{G1}\n{G2}\n{G3}"),
            await Context(user, $"?max_token_size={max}&profile_event_ratio=0.5&fill_window_with_events=true"));

        // ratio 1: no room for events unless fill_window_with_events
        Assert.Equal(Expected(profileSection, ""), await Context(user, "?profile_event_ratio=1"));
        Assert.Equal(Expected(profileSection, $"{G1}\n{G2}\n{G3}"), await Context(user, "?profile_event_ratio=1&fill_window_with_events=true"));

        // a profile budget of one token still keeps the first profile (upstream's truncation)
        Assert.Equal(Expected($"- {Swim}", ""), await Context(user, "?max_token_size=2&profile_event_ratio=0.5"));
        // a profile budget of zero: empty profile section
        Assert.Equal(Expected("", ""), await Context(user, "?max_token_size=1&profile_event_ratio=0.5"));
    }

    [Fact]
    public async Task Profile_event_ratio_outside_0_1_and_bad_json_are_errno_400()
    {
        var user = await _client.CreateUserAsync();
        Assert.Equal("profile_event_ratio must be greater than 0 and at most 1",
            await _client.GetAsync($"/api/v1/users/context/{user}?profile_event_ratio=0").Fails(400));
        await _client.GetAsync($"/api/v1/users/context/{user}?profile_event_ratio=1.5").Fails(400);
        await _client.GetAsync($"/api/v1/users/context/{user}?profile_event_ratio=-0.1").Fails(400);
        await _client.GetAsync($"/api/v1/users/context/{user}?profile_event_ratio=most").Invalid("query", "profile_event_ratio");
        await _client.GetAsync($"/api/v1/users/context/{user}?max_token_size=big").Invalid("query", "max_token_size");
        await _client.GetAsync($"/api/v1/users/context/{user}?fill_window_with_events=maybe").Invalid("query", "fill_window_with_events");
        await _client.GetAsync("/api/v1/users/context/00000000-0000-0000-0000-000000000000").Invalid("path", "user_id");

        Assert.StartsWith("Invalid JSON: topic_limits_json", await _client.GetAsync($"/api/v1/users/context/{user}?topic_limits_json=%7Bx").Fails(400));
        Assert.Equal("Invalid JSON: chats_str.0.content: Field required",
            await _client.GetAsync($"/api/v1/users/context/{user}?chats_str={Seed.Q("""[{"role":"user"}]""")}").Fails(400));
    }

    [Fact]
    public async Task Customize_context_prompt_fills_the_placeholders_and_rejects_other_braces()
    {
        var user = await UserWithMemoryAsync();
        var prompt = Seed.Q("# Mine {{literal}}\n{profile_section}\n--\n{event_section}");
        Assert.Equal($"# Mine {{literal}}\n- {Swim}\n- {Gus}\n--\n{G1}\n{G2}\n{G3}", await Context(user, $"?customize_context_prompt={prompt}"));

        var message = await _client.GetAsync($"/api/v1/users/context/{user}?customize_context_prompt={Seed.Q("{profile_section} {name}")}").Fails(400);
        Assert.StartsWith("Invalid customize_context_prompt: unknown placeholder '{name}'", message);
        await _client.GetAsync($"/api/v1/users/context/{user}?customize_context_prompt={Seed.Q("{profile_section")}").Fails(400);
        await _client.GetAsync($"/api/v1/users/context/{user}?customize_context_prompt={Seed.Q("a } b")}").Fails(400);
        await _client.GetAsync($"/api/v1/users/context/{user}?customize_context_prompt={Seed.Q("{}")}").Fails(400);
        Assert.Equal("plain", await Context(user, "?customize_context_prompt=plain"));
    }

    [Fact]
    public async Task Chats_make_the_event_section_a_vector_search_over_gists()
    {
        var user = await UserWithMemoryAsync(v1: Seed.Axis(0), v2: Seed.Axis(1), v3: Seed.Axis(0, 1, 1, 1));
        var chats = Seed.Q("""
            [{"role":"user","content":"one"},{"role":"assistant","content":"two"},
             {"role":"user","content":"three"},{"role":"assistant","content":"four"}]
            """);
        // the query is the last three messages' contents
        app.Fake.EmbeddingHandler = r => r.Inputs.Count == 1 && r.Inputs[0] == "two\nthree\nfour" ? FakeReply.Vectors([Seed.Axis(0)]) : FakeReply.Status(400);
        try
        {
            // G1 (cos 1) then G3 (cos 0.707); G2 (cos 0) is below the threshold; GOld is out of the time range
            Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}\n{G3}"), await Context(user, $"?chats_str={chats}"));
            Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}"), await Context(user, $"?chats_str={chats}&event_similarity_threshold=0.8"));
            Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}\n{GOld}\n{G3}"), await Context(user, $"?chats_str={chats}&time_range_in_days=365"));
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }

        // the embedding API failing falls back to the newest gists
        app.Fake.EmbeddingHandler = _ => FakeReply.Status(500);
        try
        {
            Assert.Equal(Expected($"- {Swim}\n- {Gus}", $"{G1}\n{G2}\n{G3}"), await Context(user, $"?chats_str={chats}"));
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }

    [Fact]
    public async Task Full_profile_and_only_search_event_false_lets_the_llm_filter_profiles()
    {
        var user = await UserWithMemoryAsync();
        var chats = Seed.Q("""[{"role":"user","content":"what is my name?"}]""");
        // candidates by (topic, sub_topic): 0 basic_info/name, 1 interest/sports
        app.Fake.ChatHandler = r => r.Stage == PromptStages.ProfileFilter ? FakeReply.Text("""{"reason":"name","ids":[0]}""") : FakeReply.Default;
        try
        {
            app.Fake.Reset();
            var context = await Context(user, $"?chats_str={chats}");
            Assert.Contains($"- {Swim}\n- {Gus}\n", context, StringComparison.Ordinal); // default: full profile, no LLM call
            Assert.Empty(app.Fake.RequestsFor(PromptStages.ProfileFilter));

            context = await Context(user, $"?chats_str={chats}&full_profile_and_only_search_event=false");
            Assert.Contains($"## User Current Profile:\n- {Gus}\n\n", context, StringComparison.Ordinal);
            Assert.Single(app.Fake.RequestsFor(PromptStages.ProfileFilter));

            app.Fake.ChatHandler = r => r.Stage == PromptStages.ProfileFilter ? FakeReply.Status(500) : FakeReply.Default;
            context = await Context(user, $"?chats_str={chats}&full_profile_and_only_search_event=False");
            Assert.Contains($"- {Swim}\n- {Gus}\n", context, StringComparison.Ordinal); // filter failure: unfiltered
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task Include_buffer_appends_the_newest_unprocessed_chat_messages_that_fit()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}",
            """{"blob_type":"chat","created_at":"2025-01-14T10:00:00Z","blob_data":{"messages":[{"role":"user","content":"first message"},{"role":"assistant","alias":"Bot","content":"first reply"}]}}""").Ok();
        await _client.PostJson($"/api/v1/blobs/insert/{user}",
            """{"blob_type":"chat","created_at":"2025-01-15T10:00:00Z","blob_data":{"messages":[{"role":"user","content":"second message","created_at":"Year 3000"}]}}""").Ok();
        const string L1 = "[2025/01/14] user: first message";
        const string L2 = "[2025/01/14] Bot(assistant): first reply";
        const string L3 = "[Year 3000] user: second message";

        Assert.Equal(Expected("- ", ""), await Context(user)); // off by default
        Assert.Equal(Expected("- ", "") .Replace("\n---\n", $"\n\n## Recent Unprocessed Chats:\n{L1}\n{L2}\n{L3}\n---\n", StringComparison.Ordinal),
            await Context(user, "?include_buffer=true"));

        var dash = Tokens("- ");
        var twoNewest = await Context(user, $"?include_buffer=true&max_token_size={dash + Tokens(L3) + Tokens(L2)}");
        Assert.EndsWith($"## Recent Unprocessed Chats:\n{L2}\n{L3}\n---\n", twoNewest, StringComparison.Ordinal);
        var newest = await Context(user, $"?include_buffer=true&max_token_size={dash + Tokens(L3) + Tokens(L2) - 1}");
        Assert.EndsWith($"## Recent Unprocessed Chats:\n{L3}\n---\n", newest, StringComparison.Ordinal);

        Assert.Equal($"{L1}\n{L2}\n{L3}|- ",
            await Context(user, $"?include_buffer=true&customize_context_prompt={Seed.Q("{buffer_section}|{profile_section}")}"));
        Assert.Equal($"P:- \n## Recent Unprocessed Chats:\n{L1}\n{L2}\n{L3}",
            await Context(user, $"?include_buffer=true&customize_context_prompt={Seed.Q("P:{profile_section}")}"));

        // processed entries are not "unprocessed" any more
        await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        Assert.EndsWith("## Recent Unprocessed Chats:\n\n---\n", await Context(user, "?include_buffer=true"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chinese_project_gets_the_chinese_template()
    {
        var project = await app.ProjectClientAsync("context-zh");
        await project.PostJson("/api/v1/project/profile_config", new { profile_config = "language: zh\n" }).Ok();
        var user = await project.CreateUserAsync();
        Assert.Equal("---\n# 记忆\n除非用户有相关的需求，否则不要主动在对话中提到这些记忆.\n## 用户当前状态：\n- \n\n## 过去事件：\n\n---\n",
            await Context(user, client: project));
    }

    [Fact]
    public async Task Another_project_sees_none_of_the_memories()
    {
        var other = await app.ProjectClientAsync("context-iso");
        var user = await UserWithMemoryAsync();
        await other.PostJson("/api/v1/users", new { id = user.ToString() }).Ok();
        Assert.Equal(Expected("- ", ""), await Context(user, client: other));
    }
}
