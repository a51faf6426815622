using Memobase.Server.Llm;
namespace Memobase.Server.Processing.Prompts;

/// <summary>Call 4: tags the event memo with the configured tags, answering <c>- TAG{sep}VALUE</c> lines.</summary>
public static class EventTaggingPrompt
{
    /// <param name="tags"><c>- name(description)</c> lines.</param>
    /// <param name="separator"><c>llm_tab_separator</c>.</param>
    public static string System(string tags, string separator) => $"""
        {PromptStages.Marker(PromptStages.EventTagging)}
        You label a memo about a user's recent conversation with event tags. The available tags:
        {tags}

        For every tag that the memo clearly supports, write one line with the tag name and a short value (a word or a
        short phrase, in the language of the memo). Leave out tags without evidence. Use only the tag names above.

        Output only lines of this form, nothing else:
        - TAG{separator}VALUE
        """;
}
