using System.Text.Json;
using Memobase.Server.Processing;
using Memobase.Server.Tests.Fakes;
using Microsoft.Extensions.Logging;
using Memobase.Server.Content;
using Memobase.Server.Llm;
using Memobase.Server.Buffers;
using static Memobase.Server.Tests.Processing.PipelineTestHost;

namespace Memobase.Server.Tests.Processing;

public sealed class BufferPipelineTests
{
    private static readonly BufferedBlob GusChat = ChatBlob(("user", "Hi, I'm Gus and I love pizza."), ("assistant", "Nice to meet you, Gus!"));

    private static Func<FakeChatRequest, FakeReply> Script(Dictionary<string, string> byStage)
        => r => r.Stage is { } s && byStage.TryGetValue(s, out var text) ? FakeReply.Text(text) : FakeReply.Default;

    private static JsonElement EventData(PipelineResult result) => JsonDocument.Parse(result.Event!.EventDataJson).RootElement;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    private static IReadOnlyList<FakeMergeItem> MergeItems(FakeOpenAiServer fake)
        => FakeOpenAiServer.ParseMergeItems(fake.RequestsFor(PromptStages.Merge).Single().User);

    [Fact]
    public async Task New_user_facts_become_adds_with_event_delta_gists_and_embeddings()
    {
        await using var host = await StartAsync();

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        // Three fixed calls: summary (summary model), extract and merge (best model).
        var calls = host.Fake.ChatRequests;
        Assert.Equal([PromptStages.EntrySummary, PromptStages.Extract, PromptStages.Merge], calls.Select(c => c.Stage));
        Assert.Equal(["summary-model", "best-model", "best-model"], calls.Select(c => c.Model));
        Assert.All(calls, c => Assert.Equal(0.2, c.Temperature));
        Assert.All(calls, c => Assert.Equal(1024, c.MaxTokens));
        Assert.All(calls, c => Assert.Equal("Bearer test-key", c.Headers["Authorization"]));
        Assert.Contains("[2025/01/02]\nuser: Hi, I'm Gus and I love pizza.", calls[0].User, StringComparison.Ordinal);

        Assert.Equal(2, result.Adds.Count);
        Assert.Equal("Gus", result.Adds[0].Content);
        Assert.Equal("basic_info", Json(result.Adds[0].AttributesJson).GetProperty("topic").GetString());
        Assert.Equal("name", Json(result.Adds[0].AttributesJson).GetProperty("sub_topic").GetString());
        Assert.Equal("Likes pizza", result.Adds[1].Content);
        Assert.Empty(result.Updates);
        Assert.Empty(result.Deletes);
        Assert.Equal(0, result.TruncatedCount);

        var data = EventData(result);
        Assert.Equal(["event_tip", "event_tags", "profile_delta"], data.EnumerateObject().Select(p => p.Name));
        var tip = FakeOpenAiServer.DefaultChatReply(calls[0]);
        Assert.Equal(tip, data.GetProperty("event_tip").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("event_tags").ValueKind);
        var delta = data.GetProperty("profile_delta").EnumerateArray().ToList();
        Assert.Equal(2, delta.Count);
        Assert.Equal("Gus", delta[0].GetProperty("content").GetString());
        Assert.Equal("basic_info", delta[0].GetProperty("attributes").GetProperty("topic").GetString());
        Assert.Equal("name", delta[0].GetProperty("attributes").GetProperty("sub_topic").GetString());

        // Gists: the summary's "- " lines, content including the dash.
        Assert.Equal(2, result.Event!.Gists.Count);
        Assert.Equal("- [2025/01/02] user: Hi, I'm Gus and I love pizza. // info", result.Event.Gists[0].Content);
        Assert.All(result.Event.Gists, g => Assert.Equal(8, g.Embedding!.Length));
        Assert.Equal(8, result.Event.Embedding!.Length);

        // Two embedding calls: the event text (tip + delta lines + tag lines), then all gists in one batch.
        var embeddingCalls = host.Fake.EmbeddingRequests;
        Assert.Equal(2, embeddingCalls.Count);
        var eventText = embeddingCalls.Single(e => e.Inputs.Count == 1).Inputs[0];
        Assert.Equal(tip + "\n- basic_info::name: Gus\n- interest::foods: Likes pizza\n", eventText);
        Assert.Equal(FakeOpenAiServer.HashVector(eventText, 8), result.Event.Embedding);
        Assert.Equal(result.Event.Gists.Select(g => g.Content), embeddingCalls.Single(e => e.Inputs.Count == 2).Inputs);
        Assert.All(embeddingCalls, e => Assert.Equal(8, e.Dimensions));
        Assert.All(embeddingCalls, e => Assert.Equal("float", e.EncodingFormat));

        // Usage is the sum of the three completions' usage.
        Assert.Equal(3, result.Usage.Calls);
        var tokenizer = Memobase.Server.Tokenization.O200kTokenizer.Instance;
        Assert.Equal(calls.Sum(c => tokenizer.CountTokens(c.System) + tokenizer.CountTokens(c.User)), result.Usage.PromptTokens);
        Assert.True(result.Usage.CompletionTokens > 0);
        Assert.True(result.Usage.ElapsedMs >= 0);
    }

    [Fact]
    public async Task Merge_update_append_abort_and_missing_decisions_against_existing_profiles()
    {
        await using var host = await StartAsync();
        var name = Profile("basic_info", "name", "Bob", """{"topic":"basic_info","sub_topic":"name","update_hits":2}""");
        var foods = Profile("interest", "foods", "Likes sushi");
        var title = Profile("work", "title", "Nurse");
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Extract] = "thinking\n---\n- basic_info::name::Gus\n- interest::foods::Likes pizza\n- work::title::Doctor\n- interest::music::Jazz",
            [PromptStages.Merge] = "reasons\n---\n1. UPDATE::Gus (formerly Bob)\n2. append::Likes pizza\n3. ABORT::Doctor\n",
        });

        var result = await host.Pipeline.RunAsync(Input([GusChat], [name, foods, title]), CancellationToken.None);

        var items = MergeItems(host.Fake);
        Assert.Equal([1, 2, 3, 4], items.Select(i => i.MemoId));
        // an empty slot's item has no current memo (compact merge input, issue 14)
        Assert.Equal(["Bob", "Likes sushi", "Nurse", null], items.Select(i => i.CurrentMemo));
        Assert.Equal("Jazz", items[3].NewInfo);
        Assert.Equal("music", items[3].SubTopic);

        Assert.Empty(result.Adds); // item 4 had no decision: dropped
        Assert.Equal(2, result.Updates.Count);
        var nameUpdate = result.Updates.Single(u => u.Id == name.Id);
        Assert.Equal("Gus (formerly Bob)", nameUpdate.Content);
        Assert.Equal(3, Json(nameUpdate.AttributesJson).GetProperty("update_hits").GetInt32());
        var foodsUpdate = result.Updates.Single(u => u.Id == foods.Id);
        Assert.Equal("Likes sushi;Likes pizza", foodsUpdate.Content);
        Assert.Equal(1, Json(foodsUpdate.AttributesJson).GetProperty("update_hits").GetInt32());
        Assert.Equal("interest", Json(foodsUpdate.AttributesJson).GetProperty("topic").GetString());
        Assert.DoesNotContain(result.Updates, u => u.Id == title.Id);

        // profile_delta: the raw facts behind the two updates.
        var delta = EventData(result).GetProperty("profile_delta").EnumerateArray().Select(d => d.GetProperty("content").GetString()).ToList();
        Assert.Equal(["Gus", "Likes pizza"], delta);
    }

    [Fact]
    public async Task Update_and_append_on_empty_slots_add_the_llm_memo_or_the_raw_fact()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Extract] = "---\n- basic_info::name::gus\n- interest::Movies::Likes Dune\n- interest::movies::Saw Alien",
            [PromptStages.Merge] = "---\n1. UPDATE::Gus\n2. APPEND::whatever the model says",
        });

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        // Same-slot facts (after name normalisation) were merged with "; " before the merge call.
        var items = MergeItems(host.Fake);
        Assert.Equal(2, items.Count);
        Assert.Equal("Likes Dune; Saw Alien", items[1].NewInfo);
        Assert.Equal(["Gus", "Likes Dune; Saw Alien"], result.Adds.Select(a => a.Content));
        Assert.Equal("movies", Json(result.Adds[1].AttributesJson).GetProperty("sub_topic").GetString());
        Assert.All(result.Adds, a => Assert.NotEqual(Guid.Empty, a.Id));
        Assert.Equal(2, result.Adds.Select(a => a.Id).Distinct().Count());
    }

    [Fact]
    public async Task Garbage_llm_output_gives_no_profiles_but_keeps_the_event()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.EntrySummary] = "- Gus loves pizza[mention 2025/01/02] // info",
            [PromptStages.Extract] = "I am not sure what you want. basic_info: Gus :: name\n* interest::foods::pizza\n- too::many::parts::here",
            [PromptStages.Merge] = "¯\\_(ツ)_/¯",
        });

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.Empty(result.Adds);
        Assert.Empty(result.Updates);
        Assert.Equal("- Gus loves pizza[mention 2025/01/02] // info", EventData(result).GetProperty("event_tip").GetString());
        Assert.Empty(EventData(result).GetProperty("profile_delta").EnumerateArray());
        // The merge call is made even with nothing to merge (upstream quirk).
        Assert.Empty(MergeItems(host.Fake));
        Assert.Single(result.Event!.Gists);
    }

    [Fact]
    public async Task Garbage_merge_output_drops_all_facts()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = r => r.Stage == PromptStages.Merge ? FakeReply.Text("1) UPDATE: Gus\nUPDATE::Gus\n1. KEEP::Gus") : FakeReply.Default;

        var result = await host.Pipeline.RunAsync(Input([GusChat], [Profile("basic_info", "name", "Bob")]), CancellationToken.None);

        Assert.Empty(result.Adds);
        Assert.Empty(result.Updates);
        Assert.NotNull(result.Event);
    }

    [Fact]
    public async Task Empty_entry_summary_gives_no_event_and_no_further_calls()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.Text("  \n ");

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.Null(result.Event);
        Assert.Empty(result.Adds);
        Assert.Empty(result.Updates);
        Assert.Empty(result.Deletes);
        Assert.Equal(1, result.Usage.Calls);
        Assert.Single(host.Fake.ChatRequests);
        Assert.Empty(host.Fake.EmbeddingRequests);
    }

    [Fact]
    public async Task Http_500_is_retried_by_the_client_then_fails_with_retryable_503()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.Status(500);

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None));

        Assert.Equal(503, ex.Errno);
        Assert.True(ex.Retryable);
        Assert.StartsWith("LLM request failed: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.Fake.CountStage(PromptStages.EntrySummary)); // 1 + llm_max_retries
        Assert.Equal(0, ex.Usage.Calls);
    }

    [Fact]
    public async Task A_transient_500_is_retried_and_the_run_succeeds()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = r => r.Index == 0 ? FakeReply.Status(503) : FakeReply.Default;

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.Equal(2, host.Fake.CountStage(PromptStages.EntrySummary));
        Assert.Equal(2, result.Adds.Count);
        Assert.Equal(3, result.Usage.Calls);
    }

    [Fact]
    public async Task A_timeout_is_retried_then_fails_with_retryable_503()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_timeout_seconds"] = "1", ["llm_max_retries"] = "1" });
        host.Fake.ChatHandler = _ => FakeReply.Delay(TimeSpan.FromSeconds(3));

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None));

        Assert.Equal(503, ex.Errno);
        Assert.True(ex.Retryable);
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, host.Fake.CountStage(PromptStages.EntrySummary));
    }

    [Fact]
    public async Task A_failure_after_the_summary_carries_the_usage_so_far()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_max_retries"] = "0" });
        host.Fake.ChatHandler = r => r.Stage == PromptStages.Extract ? FakeReply.Status(502) : FakeReply.Default;

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None));

        Assert.Equal(503, ex.Errno);
        Assert.True(ex.Retryable);
        Assert.Contains(PromptStages.Extract, ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ex.Usage.Calls);
        Assert.True(ex.Usage.PromptTokens > 0);
        Assert.Equal(0, host.Fake.CountStage(PromptStages.Merge));
    }

    [Fact]
    public async Task A_malformed_completion_body_fails_with_retryable_503()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.MalformedJson();

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None));

        Assert.Equal(503, ex.Errno);
        Assert.True(ex.Retryable);
        Assert.Contains("invalid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Single(host.Fake.ChatRequests); // not retried at HTTP level
    }

    [Fact]
    public async Task Unconfigured_llm_fails_with_a_non_retryable_503_naming_llm_api_key()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_base_url"] = null, ["llm_api_key"] = null });

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None));

        Assert.Equal(503, ex.Errno);
        Assert.False(ex.Retryable); // a configuration error: no backoff can fix it
        Assert.Contains("llm_api_key", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MEMOBASE_LLM_API_KEY", ex.Message, StringComparison.Ordinal);
        Assert.Empty(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task Truncation_keeps_the_newest_blobs_within_the_token_budget()
    {
        var oldest = ChatBlobAt(BlobTime.AddDays(-2), ("user", "OLDEST " + string.Join(' ', Enumerable.Repeat("apple", 30))));
        var middle = ChatBlobAt(BlobTime.AddDays(-1), ("user", "MIDDLE " + string.Join(' ', Enumerable.Repeat("pear", 30))));
        var newest = ChatBlobAt(BlobTime, ("user", "NEWEST " + string.Join(' ', Enumerable.Repeat("plum", 30))));
        var tokenizer = Memobase.Server.Tokenization.O200kTokenizer.Instance;
        int Tokens(BufferedBlob b) => tokenizer.CountTokens(b.Content.Render(b.CreatedAt, TimeZoneInfo.Utc));
        var budget = Tokens(newest) + Tokens(middle) + Tokens(oldest) - 1;
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["max_chat_blob_buffer_process_token_size"] = budget.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        var result = await host.Pipeline.RunAsync(Input([oldest, middle, newest]), CancellationToken.None);

        Assert.Equal(1, result.TruncatedCount);
        var summaryPrompt = host.Fake.RequestsFor(PromptStages.EntrySummary).Single().User;
        Assert.DoesNotContain("OLDEST", summaryPrompt, StringComparison.Ordinal);
        Assert.True(summaryPrompt.IndexOf("MIDDLE", StringComparison.Ordinal) < summaryPrompt.IndexOf("NEWEST", StringComparison.Ordinal));
        Assert.Contains("[2025/01/01]\nuser: MIDDLE", summaryPrompt, StringComparison.Ordinal);
        Assert.Contains("[2025/01/02]\nuser: NEWEST", summaryPrompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_left_after_truncation_fails_with_non_retryable_520()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["max_chat_blob_buffer_process_token_size"] = "5" });

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None));

        Assert.Equal(520, ex.Errno);
        Assert.False(ex.Retryable);
        Assert.Equal("No blobs to process after truncating", ex.Message);
        Assert.Empty(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task Strict_mode_keeps_only_configured_slots_and_hides_other_existing_profiles()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Extract] = "---\n- basic_info::name::Gus\n- interest::pets::Has a cat\n- hobby::gaming::Plays chess",
        });
        var existing = Profile("hobby", "gaming", "Plays go");

        var result = await host.Pipeline.RunAsync(Input([GusChat], [existing], "profile_strict_mode: true"), CancellationToken.None);

        Assert.Equal(["Gus"], result.Adds.Select(a => a.Content));
        Assert.Single(MergeItems(host.Fake));
        var extract = host.Fake.RequestsFor(PromptStages.Extract).Single().User;
        Assert.Contains("#### Topic constraint", extract, StringComparison.Ordinal);
        Assert.DoesNotContain("hobby::gaming", extract, StringComparison.Ordinal);
        Assert.DoesNotContain("hobby::gaming", host.Fake.RequestsFor(PromptStages.EntrySummary).Single().User, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Existing_profiles_are_listed_as_already_logged_with_five_tokens_of_content()
    {
        await using var host = await StartAsync();
        var profile = Profile("work", "title", "Senior staff nurse at the Boston children's hospital");

        await host.Pipeline.RunAsync(Input([GusChat], [profile, Profile("basic_info", "name", "Bob")]), CancellationToken.None);

        var user = host.Fake.RequestsFor(PromptStages.EntrySummary).Single().User;
        var expectedValue = Memobase.Server.Tokenization.O200kTokenizer.Instance.Truncate(profile.Content, 5) + "...";
        Assert.Contains($"### Already Logged\n- basic_info::name::Bob\n- work::title::{expectedValue}\n", user, StringComparison.Ordinal);
        Assert.Contains($"#### User Before topics\n- basic_info::name::Bob\n- work::title::{expectedValue}\n", host.Fake.RequestsFor(PromptStages.Extract).Single().User, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_mode_off_adds_new_slot_facts_without_the_llm()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Extract] = "---\n- basic_info::name::Gus\n- interest::foods::Likes pizza\n- health::allergy::Peanuts",
            [PromptStages.Merge] = "---\n1. ABORT::x\n2. ABORT::x",
        });
        var config = """
            profile_validate_mode: false
            additional_user_profiles:
              - topic: health
                sub_topics:
                  - name: allergy
                    validate_value: true
            """;

        var result = await host.Pipeline.RunAsync(Input([GusChat], [Profile("interest", "foods", "Likes sushi")], config), CancellationToken.None);

        // name: new slot → added directly; foods: existing → merge; allergy: validate_value → merge.
        Assert.Equal(["Gus"], result.Adds.Select(a => a.Content));
        Assert.Empty(result.Updates);
        Assert.Equal(["Likes pizza", "Peanuts"], MergeItems(host.Fake).Select(i => i.NewInfo));
    }

    [Fact]
    public async Task Validate_mode_off_with_only_new_slots_still_makes_an_empty_merge_call()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["profile_validate_mode"] = "false" });

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.Equal(["Gus", "Likes pizza"], result.Adds.Select(a => a.Content));
        Assert.Empty(MergeItems(host.Fake));
    }

    [Fact]
    public async Task Configured_event_tags_make_a_tagging_call_and_fill_event_tags()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.EventTagging] = "- Emotion::happy\n- unknown_tag::x\n- goal::none\n- goal::eat more pizza::extra",
        });
        var config = """
            event_tags:
              - emotion
              - name: goal
                description: what the user wants to achieve
            """;

        var result = await host.Pipeline.RunAsync(Input([GusChat], config: config), CancellationToken.None);

        var tagging = host.Fake.RequestsFor(PromptStages.EventTagging).Single();
        Assert.Equal("best-model", tagging.Model);
        Assert.Contains("- emotion()\n- goal(what the user wants to achieve)", tagging.System, StringComparison.Ordinal);
        Assert.Equal(FakeOpenAiServer.DefaultChatReply(host.Fake.RequestsFor(PromptStages.EntrySummary).Single()), tagging.User);
        var tags = EventData(result).GetProperty("event_tags").EnumerateArray().ToList();
        Assert.Single(tags);
        Assert.Equal("emotion", tags[0].GetProperty("tag").GetString());
        Assert.Equal("happy", tags[0].GetProperty("value").GetString());
        Assert.Equal(4, result.Usage.Calls);
        Assert.Contains("- emotion: happy", host.Fake.EmbeddingRequests.Single(e => e.Inputs.Count == 1).Inputs[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Global_event_tags_apply_unless_the_project_sets_an_empty_list()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["event_tags:0"] = "emotion", ["event_tags:1:name"] = "goal" });

        var tagged = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);
        Assert.Equal(1, host.Fake.CountStage(PromptStages.EventTagging));
        Assert.Equal("emotion", EventData(tagged).GetProperty("event_tags")[0].GetProperty("tag").GetString());

        host.Fake.Reset();
        var untagged = await host.Pipeline.RunAsync(Input([GusChat], config: "event_tags: []"), CancellationToken.None);
        Assert.Equal(0, host.Fake.CountStage(PromptStages.EventTagging));
        Assert.Equal(JsonValueKind.Null, EventData(untagged).GetProperty("event_tags").ValueKind);
    }

    [Fact]
    public async Task An_over_full_topic_is_organized_with_exactly_one_call()
    {
        await using var host = await StartAsync();
        var interests = Enumerable.Range(1, 16).Select(i => Profile("interest", $"thing_{i}", $"Likes thing {i}")).ToList();
        var work = Enumerable.Range(1, 3).Select(i => Profile("work", $"job_{i}", $"Job {i}")).ToList();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Organize] = "- Things::Likes things 1-10\n- more_things::Likes things 11-16\n- empty::none",
            [PromptStages.Merge] = "---\n1. ABORT::x\n2. ABORT::x",
        });

        var result = await host.Pipeline.RunAsync(Input([GusChat], [.. interests, .. work]), CancellationToken.None);

        var organize = host.Fake.RequestsFor(PromptStages.Organize).Single();
        Assert.Equal("best-model", organize.Model);
        Assert.StartsWith("topic: interest\n- thing_1::Likes thing 1\n", organize.User, StringComparison.Ordinal);
        Assert.Contains("at most\n8 sub-topics", organize.System, StringComparison.Ordinal);
        Assert.Contains("  - books", organize.System, StringComparison.Ordinal); // default sub-topics suggested
        Assert.Equal(["Likes things 1-10", "Likes things 11-16"], result.Adds.Select(a => a.Content));
        Assert.Equal(["things", "more_things"], result.Adds.Select(a => Json(a.AttributesJson).GetProperty("sub_topic").GetString()));
        Assert.All(result.Adds, a => Assert.Equal("interest", Json(a.AttributesJson).GetProperty("topic").GetString()));
        Assert.Equal(interests.Select(p => p.Id).OrderBy(x => x), result.Deletes.OrderBy(x => x));
        // Organized profiles are not part of the event's delta.
        Assert.Empty(EventData(result).GetProperty("profile_delta").EnumerateArray());
    }

    [Fact]
    public async Task A_failed_organize_leaves_the_profiles_alone()
    {
        await using var host = await StartAsync();
        var interests = Enumerable.Range(1, 16).Select(i => Profile("interest", $"thing_{i}", $"Likes thing {i}")).ToList();
        host.Fake.ChatHandler = r => r.Stage == PromptStages.Organize ? FakeReply.Text("I cannot do that.") : FakeReply.Default;

        var result = await host.Pipeline.RunAsync(Input([GusChat], interests), CancellationToken.None);

        Assert.Equal(1, host.Fake.CountStage(PromptStages.Organize));
        Assert.Empty(result.Deletes);
        Assert.Equal(2, result.Adds.Count);
        Assert.Contains(host.Logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("Organizing profiles", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Long_profiles_are_resummarized_and_cut_to_half_the_limit()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["max_pre_profile_token_size"] = "20" });
        var longMemo = string.Join(' ', Enumerable.Repeat("Gus enjoys long hikes in the mountains", 6));
        var longAnswer = string.Join(' ', Enumerable.Repeat("A concise yet still rather long summary", 5));
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Extract] = $"---\n- interest::sports::{longMemo}\n- basic_info::name::Gus",
            [PromptStages.Merge] = $"---\n1. UPDATE::{longMemo}\n2. UPDATE::Gus",
            [PromptStages.Resummary] = longAnswer,
        });

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        var resummary = host.Fake.RequestsFor(PromptStages.Resummary).Single();
        Assert.Equal("summary-model", resummary.Model);
        Assert.Equal(longMemo, resummary.User);
        var expected = Memobase.Server.Tokenization.O200kTokenizer.Instance.Truncate(longAnswer, 10) + "...";
        Assert.Equal([expected, "Gus"], result.Adds.Select(a => a.Content));
        // The delta shares the added profile, so it shows the re-summarized text.
        Assert.Equal(expected, EventData(result).GetProperty("profile_delta")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Summary_blobs_skip_the_entry_summary_and_truncation()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["max_chat_blob_buffer_process_token_size"] = "5" });
        var blobs = new[] { SummaryBlob("Gus likes pizza.\nHe lives in Rome."), SummaryBlob("Gus plans a trip to Oslo.") };

        var result = await host.Pipeline.RunAsync(Input(blobs, blobType: "summary"), CancellationToken.None);

        Assert.Equal(0, host.Fake.CountStage(PromptStages.EntrySummary));
        var memo = "- Gus likes pizza. He lives in Rome.[2025/01/02]\n- Gus plans a trip to Oslo.[2025/01/02]";
        Assert.EndsWith("#### Memo\n" + memo, host.Fake.RequestsFor(PromptStages.Extract).Single().User, StringComparison.Ordinal);
        Assert.Equal(memo, EventData(result).GetProperty("event_tip").GetString());
        Assert.Equal(0, result.TruncatedCount);
        Assert.Equal(2, result.Adds.Count);
        Assert.Equal(2, result.Event!.Gists.Count);
        Assert.Equal(2, result.Usage.Calls);
    }

    [Fact]
    public async Task Meaningless_values_are_filtered_out()
    {
        await using var host = await StartAsync();
        host.Fake.ChatHandler = Script(new Dictionary<string, string>
        {
            [PromptStages.Extract] = "---\n- basic_info::age::Not mentioned\n- basic_info::gender::unknow\n- work::title::N/A\n- contact_info::city::未提及\n"
                + "- interest::books::Likes Dune\n- basic_info::name::Gus",
        });

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.Equal(["Likes Dune", "Gus"], MergeItems(host.Fake).Select(i => i.NewInfo));
        Assert.Equal(["Likes Dune", "Gus"], result.Adds.Select(a => a.Content));
    }

    [Fact]
    public async Task Embedding_failures_leave_null_vectors_and_keep_the_event()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["llm_max_retries"] = "0" });
        host.Fake.EmbeddingHandler = e => e.Inputs.Count == 1 ? FakeReply.Status(500) : FakeReply.Vectors(e.Inputs.Select(_ => new float[3]).ToList());

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.NotNull(result.Event);
        Assert.Null(result.Event!.Embedding);
        Assert.All(result.Event.Gists, g => Assert.Null(g.Embedding)); // wrong dimension (3, not 8)
        Assert.Equal(2, result.Adds.Count);
        Assert.Equal(2, host.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("stored without vectors", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Disabled_embeddings_make_no_embedding_calls()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["enable_event_embedding"] = "false" });

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.False(host.Embeddings.IsEnabled);
        Assert.Null(result.Event!.Embedding);
        Assert.All(result.Event.Gists, g => Assert.Null(g.Embedding));
        Assert.Equal(2, result.Event.Gists.Count);
        Assert.Empty(host.Fake.EmbeddingRequests);
    }

    [Fact]
    public async Task Unsupported_blob_types_fail_with_400()
    {
        await using var host = await StartAsync();
        var doc = new BufferedBlob(Guid.NewGuid(), Guid.NewGuid(), "doc", new Memobase.Server.Content.DocContent("text"), BlobTime, 1);

        var ex = await Assert.ThrowsAsync<PipelineException>(() => host.Pipeline.RunAsync(Input([doc], blobType: "doc"), CancellationToken.None));

        Assert.Equal(400, ex.Errno);
        Assert.False(ex.Retryable);
        Assert.Empty(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task An_invalid_project_config_falls_back_to_the_global_settings()
    {
        await using var host = await StartAsync();

        var result = await host.Pipeline.RunAsync(Input([GusChat], config: "[[["), CancellationToken.None);

        Assert.Equal(2, result.Adds.Count);
        Assert.Contains(host.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("invalid profile_config", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Project_language_and_slots_shape_the_prompts()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["system_prompt"] = "You are a meticulous biographer." });
        var config = """
            language: zh
            event_theme_requirement: Only log food preferences.
            overwrite_user_profiles:
              - topic: Food Habits
                description: what the user eats
                sub_topics:
                  - Favorite Dish
                  - name: allergies
                    description: food allergies
            """;

        await host.Pipeline.RunAsync(Input([GusChat], config: config), CancellationToken.None);

        var summary = host.Fake.RequestsFor(PromptStages.EntrySummary).Single().System;
        var slots = "- food_habits (what the user eats): favorite_dish, allergies(food allergies)\n...";
        Assert.Contains(slots, summary, StringComparison.Ordinal);
        Assert.Contains("Only log food preferences.", summary, StringComparison.Ordinal);
        Assert.Contains("日志", summary, StringComparison.Ordinal); // Chinese prompt
        Assert.DoesNotContain("basic_info", summary, StringComparison.Ordinal);
        var extract = host.Fake.RequestsFor(PromptStages.Extract).Single().System;
        Assert.Contains("You are a meticulous biographer.", extract, StringComparison.Ordinal);
        Assert.Contains(slots, extract, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Default_chinese_slots_are_used_for_language_zh()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["language"] = "zh" });

        await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        var system = host.Fake.RequestsFor(PromptStages.Extract).Single().System;
        Assert.Contains("- 基本信息: 用户姓名, 用户年龄(整数)", system, StringComparison.Ordinal);
        Assert.Contains("- 生活方式: 饮食偏好(例如：素食，纯素)", system, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prompts_and_completions_are_never_logged_above_debug()
    {
        await using var host = await StartAsync();

        await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        var infoAndAbove = host.Logs.Entries.Where(e => e.Level >= LogLevel.Information).ToList();
        Assert.NotEmpty(infoAndAbove);
        Assert.DoesNotContain(infoAndAbove, e => e.Message.Contains("pizza", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(host.Logs.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("pizza", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Profile_and_event_branches_run_in_parallel()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["event_tags:0"] = "emotion" });
        var extractStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var taggingStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Fake.ChatHandler = r =>
        {
            // Each branch's first call only answers once the other branch's first call has arrived.
            if (r.Stage == PromptStages.Extract)
            {
                extractStarted.TrySetResult();
                return taggingStarted.Task.Wait(TimeSpan.FromSeconds(1.5)) ? FakeReply.Default : FakeReply.Status(400);
            }
            if (r.Stage == PromptStages.EventTagging)
            {
                taggingStarted.TrySetResult();
                return extractStarted.Task.Wait(TimeSpan.FromSeconds(1.5)) ? FakeReply.Default : FakeReply.Status(400);
            }
            return FakeReply.Default;
        };

        var result = await host.Pipeline.RunAsync(Input([GusChat]), CancellationToken.None);

        Assert.Equal(2, result.Adds.Count);
        Assert.Equal("happy", EventData(result).GetProperty("event_tags")[0].GetProperty("value").GetString());
    }
}
