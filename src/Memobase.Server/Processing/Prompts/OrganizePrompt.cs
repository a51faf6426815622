using Memobase.Server.Llm;
namespace Memobase.Server.Processing.Prompts;

/// <summary>
/// Regroups the memos of one over-full topic into at most <c>max_profile_subtopics / 2 + 1</c> sub-topics,
/// answering <c>- SUB_TOPIC{sep}MEMO</c> lines.
/// </summary>
public static class OrganizePrompt
{
    /// <param name="maxSubTopics">The target number of sub-topics.</param>
    /// <param name="suggestedSubTopics">The default sub-topics of the topic (<c>  - name(description)</c> lines) or <c>None</c>.</param>
    /// <param name="separator"><c>llm_tab_separator</c>.</param>
    public static string System(int maxSubTopics, string suggestedSubTopics, string separator) => $"""
        {PromptStages.Marker(PromptStages.Organize)}
        You tidy up one topic of a user's profile. The topic has too many sub-topics; regroup its memos into at most
        {maxSubTopics} sub-topics.

        - Merge memos that belong together into one sub-topic, and give each sub-topic a short, general name.
        - Prefer these sub-topic names when they fit:
        {suggestedSubTopics}
        - Keep every piece of information and its time annotations (such as [mention ...]); drop exact duplicates only.
        - Write in the language of the memos.

        Output only lines of this form, nothing else:
        - SUB_TOPIC{separator}MEMO
        """;

    /// <summary><c>topic: &lt;topic&gt;</c> followed by <c>- sub_topic{sep}content</c> lines.</summary>
    public static string User(string topic, IEnumerable<(string SubTopic, string Content)> profiles, string separator)
        => $"topic: {topic}\n" + string.Join('\n', profiles.Select(p => $"- {p.SubTopic}{separator}{p.Content}")) + "\n";
}
