using Memobase.Server.Processing.Prompts;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Llm;
using Memobase.Server.Buffers;
using Memobase.Server.Content;

namespace Memobase.Server.Tests.Processing;

public sealed class PromptTests
{
    [Fact]
    public void The_merge_input_has_every_items_id_slot_current_memo_and_new_info()
    {
        MergeItem[] items =
        [
            new(1, "Likes pizza[mention 2026/11/29]", "Likes sushi", "interest", "foods", null, null),
            new(2, "Gus", "", "basic_info", "name", null, null),
            new(3, "34", "33", "basic_info", "age", "integer", "keep only the latest"),
            new(4, "new \"quoted\" 中文", "line one\nline two::with the separator", "custom", "notes", "anything\nthe user notes", null),
        ];

        var text = MergePrompt.User(items, "::");

        Assert.Equal(
            "1::interest::foods::Likes pizza[mention 2026/11/29]::Likes sushi\n" +
            "2::basic_info::name::Gus\n" +
            "3::basic_info::age::34::33\n" +
            "  description: integer\n" +
            "  update: keep only the latest\n" +
            "4::custom::notes::new \"quoted\" 中文::line one line two::with the separator\n" +
            "  description: anything the user notes",
            text);
        // Read back (as the fakes do), every field is there: the current memo is the last field, so a separator in it is no problem.
        var parsed = FakeOpenAiServer.ParseMergeItems(text);
        Assert.Equal(
            items.Select(i => (i.MemoId, i.Topic, i.Subtopic, i.NewInfo, i.CurrentMemo.Replace('\n', ' '), i.TopicDescription?.Replace('\n', ' '), i.UpdateInstruction)),
            parsed.Select(p => (p.MemoId, p.Topic, p.SubTopic, p.NewInfo, p.CurrentMemo ?? "", p.TopicDescription, p.UpdateInstruction)));
        Assert.Equal("", MergePrompt.User([], "::"));
    }

    [Fact]
    public void The_chats_state_each_date_once_above_its_messages()
    {
        var day1 = new DateTimeOffset(2025, 1, 1, 23, 30, 0, TimeSpan.Zero);
        var day2 = day1.AddHours(1); // 2025/01/02 in UTC
        BufferedBlob Blob(DateTimeOffset at, params ChatMessage[] messages)
            => new(Guid.NewGuid(), Guid.NewGuid(), "chat", new ChatContent(messages), at, 0);

        var chats = EntrySummaryPrompt.Chats(
            [
                Blob(day1, new ChatMessage("user", "Hi, I'm Gus."), new ChatMessage("assistant", "Hello Gus!", "Coach")),
                Blob(day1, new ChatMessage("user", "I love pizza.")),
                Blob(day2, new ChatMessage("user", "Back again."), new ChatMessage("user", "Old news.", CreatedAt: "2024/12/24"), new ChatMessage("assistant", "Welcome back.")),
            ],
            TimeZoneInfo.Utc);

        Assert.Equal(
            "[2025/01/01]\nuser: Hi, I'm Gus.\nCoach(assistant): Hello Gus!\nuser: I love pizza.\n" +
            "[2025/01/02]\nuser: Back again.\n[2024/12/24]\nuser: Old news.\n[2025/01/02]\nassistant: Welcome back.",
            chats);
        // The same messages as each blob renders them (what upstream sends), minus the repeated dates.
        var rendered = new[] { "[2025/01/01] user: Hi, I'm Gus.", "[2025/01/01] Coach(assistant): Hello Gus!", "[2025/01/01] user: I love pizza.",
            "[2025/01/02] user: Back again.", "[2024/12/24] user: Old news.", "[2025/01/02] assistant: Welcome back." };
        string? date = null;
        var expanded = new List<string>();
        foreach (var line in chats.Split('\n'))
        {
            if (line.StartsWith('[')) date = line;
            else expanded.Add($"{date} {line}");
        }
        Assert.Equal(rendered, expanded);
    }

    [Theory]
    [InlineData("en")]
    [InlineData("zh")]
    public void The_merge_and_extract_prompts_describe_their_line_formats_with_the_configured_separator(string language)
    {
        var merge = MergePrompt.System(language, "<>");
        Assert.StartsWith(PromptStages.Marker(PromptStages.Merge), merge, StringComparison.Ordinal);
        Assert.Matches(@"N<>[^\n<]+<>[^\n<]+<>[^\n<]+<>", merge); // the item line: N, topic, subtopic, new info, current memo
        Assert.Contains(MergePrompt.DescriptionLabel.Trim(), merge, StringComparison.Ordinal);
        Assert.Contains(MergePrompt.UpdateLabel.Trim(), merge, StringComparison.Ordinal);
        Assert.Contains("N. ", merge, StringComparison.Ordinal);
        Assert.DoesNotContain("::", merge, StringComparison.Ordinal);

        var extract = ExtractPrompt.System(language, null, "- t: a, b\n...", "<>");
        Assert.StartsWith(PromptStages.Marker(PromptStages.Extract), extract, StringComparison.Ordinal);
        Assert.Contains("- t: a, b\n...", extract, StringComparison.Ordinal);
        Assert.Matches(@"- [^\n<]+<>[^\n<]+<>[^\n<]+\n", extract);
        Assert.DoesNotContain("::", extract, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en")]
    [InlineData("zh")]
    public void The_entry_summary_lists_event_kinds_only_when_tags_are_configured(string language)
    {
        var without = EntrySummaryPrompt.System(language, "- t: a\n...", "", "Focus on the user.");
        var with = EntrySummaryPrompt.System(language, "- t: a\n...", "- mood(how the user feels)", "Focus on the user.");

        Assert.StartsWith(PromptStages.Marker(PromptStages.EntrySummary), without, StringComparison.Ordinal);
        Assert.Contains("Focus on the user.", without, StringComparison.Ordinal);
        Assert.Contains("- t: a\n...", without, StringComparison.Ordinal);
        Assert.DoesNotContain("mood", without, StringComparison.Ordinal);
        Assert.Contains("\n- mood(how the user feels)\n", with, StringComparison.Ordinal);
        Assert.Equal(without.Split("\n## ").Length + 1, with.Split("\n## ").Length); // one more section, nothing else
    }
}
