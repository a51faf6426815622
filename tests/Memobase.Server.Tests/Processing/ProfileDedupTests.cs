using System.Text.Json;
using Memobase.Server.Processing;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Llm;
using Memobase.Server.Buffers;
using static Memobase.Server.Tests.Processing.PipelineTestHost;

namespace Memobase.Server.Tests.Processing;

/// <summary>
/// Issue 12 §3: the merge step never stores a memo twice in one slot (memobase#143: "Xiao Ge; Xiao Ge; Xiao Ge"),
/// compared per ';'-separated item ignoring case, whitespace and punctuation, and repairs a slot that already repeats.
/// </summary>
public sealed class ProfileDedupTests
{
    private static readonly BufferedBlob Chat = ChatBlob(("user", "Call me Xiao Ge."), ("assistant", "Sure, Xiao Ge!"));

    private static Func<FakeChatRequest, FakeReply> Extract(string facts)
        => r => r.Stage == PromptStages.Extract ? FakeReply.Text("---\n" + facts) : FakeReply.Default;

    [Theory]
    [InlineData("Xiao Ge", "xiao ge", true)]
    [InlineData("Xiao Ge", "  Xiao-Ge. ", true)]
    [InlineData("Likes pizza!", "likes   PIZZA", true)]
    [InlineData("Ｘｉａｏ Ｇｅ", "Xiao Ge", true)]
    [InlineData("喜欢 披萨。", "喜欢披萨", true)]
    [InlineData("Likes C++", "Likes C", false)]
    [InlineData("Xiao Ge", "Xiao Gu", false)]
    public void Items_compare_ignoring_case_whitespace_and_punctuation(string a, string b, bool same)
        => Assert.Equal(same, MemoItems.Key(a) == MemoItems.Key(b));

    [Fact]
    public void Distinct_removes_repeats_and_leaves_clean_text_untouched()
    {
        Assert.Equal("Xiao Ge", MemoItems.Distinct("Xiao Ge; Xiao Ge; xiao ge."));
        Assert.Equal("Xiao Ge; Gus", MemoItems.Distinct("Xiao Ge;Gus;XIAO GE"));
        const string clean = "Likes sushi;Likes pizza";
        Assert.Same(clean, MemoItems.Distinct(clean));
        Assert.Equal("Xiao Ge", MemoItems.Distinct("Xiao Ge;"));
        Assert.Equal("小哥; 喜欢披萨", MemoItems.Distinct("小哥；喜欢披萨；小哥。"));
        Assert.Equal("...", MemoItems.Distinct("..."));
    }

    [Fact]
    public void Append_adds_only_new_items()
    {
        Assert.Equal(("Likes sushi;Likes pizza", "Likes pizza"), MemoItems.Append("Likes sushi", "Likes pizza"));
        Assert.Equal(((string?)null, ""), MemoItems.Append("Likes sushi;Likes pizza", "likes pizza"));
        Assert.Equal(("Xiao Ge", ""), MemoItems.Append("Xiao Ge; Xiao Ge; Xiao Ge", "Xiao Ge"));
        Assert.Equal(("Xiao Ge;Gus", "Gus"), MemoItems.Append("Xiao Ge", "Xiao Ge; Gus; gus"));
    }

    [Fact]
    public async Task A_fact_repeated_in_one_flush_is_stored_once()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Extract("- basic_info::nickname::Xiao Ge\n- basic_info::nickname::Xiao Ge\n- basic_info::nickname::xiao ge.");

        var result = await host.Pipeline.RunAsync(Input([Chat]), CancellationToken.None);

        var merge = FakeOpenAiServer.ParseMergeItems(host.Fake.RequestsFor(PromptStages.Merge).Single().User).Single();
        Assert.Equal("Xiao Ge; Xiao Ge; xiao ge.", merge.NewInfo); // the default merge answers UPDATE with it
        Assert.Equal(["Xiao Ge"], result.Adds.Select(a => a.Content));
    }

    [Fact]
    public async Task Append_and_update_of_a_memo_already_in_the_slot_change_nothing()
    {
        await using var host = await StartAsync();
        var nickname = Profile("basic_info", "nickname", "Xiao Ge", """{"topic":"basic_info","sub_topic":"nickname","update_hits":1}""");
        var foods = Profile("interest", "foods", "Likes sushi; Likes pizza");
        host.Fake.ChatHandler = r => r.Stage switch
        {
            PromptStages.Extract => FakeReply.Text("---\n- basic_info::nickname::Xiao Ge\n- interest::foods::likes pizza"),
            PromptStages.Merge => FakeReply.Text("---\n1. APPEND::Xiao Ge\n2. UPDATE::Likes Pizza; likes sushi."),
            _ => FakeReply.Default,
        };

        var result = await host.Pipeline.RunAsync(Input([Chat], [nickname, foods]), CancellationToken.None);

        Assert.Empty(result.Adds);
        Assert.Empty(result.Updates);
        var delta = JsonDocument.Parse(result.Event!.EventDataJson).RootElement.GetProperty("profile_delta");
        Assert.Equal(0, delta.GetArrayLength());
    }

    [Fact]
    public async Task A_slot_grown_by_repetition_is_repaired_when_it_is_merged_again()
    {
        await using var host = await StartAsync();
        var nickname = Profile("basic_info", "nickname", "Xiao Ge; Xiao Ge; Xiao Ge", """{"topic":"basic_info","sub_topic":"nickname","update_hits":2}""");
        var foods = Profile("interest", "foods", "Likes sushi;likes sushi");
        var city = Profile("basic_info", "city", "Beijing; beijing");
        host.Fake.ChatHandler = r => r.Stage switch
        {
            PromptStages.Extract => FakeReply.Text("---\n- basic_info::nickname::Xiao Ge\n- interest::foods::Likes noodles\n- basic_info::city::Beijing"),
            PromptStages.Merge => FakeReply.Text("---\n1. APPEND::Xiao Ge\n2. APPEND::Likes noodles\n3. ABORT::Beijing"),
            _ => FakeReply.Default,
        };

        var result = await host.Pipeline.RunAsync(Input([Chat], [nickname, foods, city]), CancellationToken.None);

        var updates = result.Updates.ToDictionary(u => u.Id);
        Assert.Equal(3, updates.Count);
        Assert.Equal("Xiao Ge", updates[nickname.Id].Content);
        Assert.Equal(2, JsonDocument.Parse(updates[nickname.Id].AttributesJson).RootElement.GetProperty("update_hits").GetInt32()); // a repair is no hit
        Assert.Equal("Likes sushi;Likes noodles", updates[foods.Id].Content);
        Assert.Equal(1, JsonDocument.Parse(updates[foods.Id].AttributesJson).RootElement.GetProperty("update_hits").GetInt32());
        Assert.Equal("Beijing", updates[city.Id].Content);
        var delta = JsonDocument.Parse(result.Event!.EventDataJson).RootElement.GetProperty("profile_delta").EnumerateArray()
            .Select(d => d.GetProperty("content").GetString()).ToList();
        Assert.Equal(["Likes noodles"], delta);
    }
}

/// <summary>The same through the server: real flushes, the fake LLM's default merge (APPEND to a filled slot).</summary>
public sealed class ProfileDedupFlushTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task FlushChatAsync(Guid user)
    {
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "Call me Xiao Ge."), ("assistant", "OK, Xiao Ge"))).Ok();
        await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
    }

    private Task<string> NicknameAsync(Guid user) => app.ScalarAsync<string>(
        "SELECT string_agg(content, ' | ') FROM user_profiles WHERE user_id = $1 AND attributes ->> 'sub_topic' = 'nickname'", user);

    [Fact]
    public async Task Repeated_flushes_of_the_same_fact_keep_one_memo_and_repair_a_repeated_one()
    {
        app.Fake.ChatHandler = r => r.Stage == PromptStages.Extract
            ? FakeReply.Text("---\n- basic_info::nickname::Xiao Ge\n- basic_info::nickname::Xiao Ge")
            : FakeReply.Default;
        var user = await _client.CreateUserAsync();

        await FlushChatAsync(user); // one flush, the fact twice: added once
        Assert.Equal("Xiao Ge", await NicknameAsync(user));
        await FlushChatAsync(user); // the default merge answers APPEND::Xiao Ge; Xiao Ge
        await FlushChatAsync(user);
        Assert.Equal("Xiao Ge", await NicknameAsync(user));

        // A slot stored before this fix, grown by repetition, is repaired by the next flush that merges it.
        await app.ScalarAsync<int>("""
            WITH u AS (UPDATE user_profiles SET content = 'Xiao Ge;Xiao Ge;Xiao Ge' WHERE user_id = $1 AND attributes ->> 'sub_topic' = 'nickname' RETURNING 1)
            SELECT count(*)::int FROM u
            """, user);
        await FlushChatAsync(user);
        Assert.Equal("Xiao Ge", await NicknameAsync(user));
    }
}
