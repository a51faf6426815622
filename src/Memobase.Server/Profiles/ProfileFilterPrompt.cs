using Memobase.Server.Content;
using Memobase.Server.Llm;

namespace Memobase.Server.Profiles;

/// <summary>
/// Picks the profile entries relevant to the latest messages; the answer is a JSON object
/// <c>{"reason": str, "ids": [int]}</c>.
/// </summary>
public static class ProfileFilterPrompt
{
    /// <param name="maxIds">How many ids the model may pick at most.</param>
    public static string System(int maxIds) => $$"""
        {{PromptStages.Marker(PromptStages.ProfileFilter)}}
        You help an assistant answer a user. Given the latest messages of the conversation and a numbered list of what is
        known about the user, pick the entries that are useful for the assistant's next reply: directly related ones, and
        ones that help personalise the answer. Pick at most {{maxIds}} entries, most useful first; pick none if nothing helps.

        Answer with one JSON object and nothing else:
        {"reason": "<one short sentence>", "ids": [<entry numbers>]}
        """;

    /// <summary>The messages as <c>Q: …</c> (user) / <c>A: …</c> (assistant) lines, then the numbered entries.</summary>
    public static string User(IEnumerable<ChatMessage> messages, IEnumerable<string> numberedEntries) => $"""
        ## Latest messages
        {string.Join('\n', messages.Select(m => (m.Role == "user" ? "Q: " : "A: ") + m.Content))}

        ## What is known about the user (number. topic,sub_topic,value)
        {string.Join('\n', numberedEntries)}
        """;
}
