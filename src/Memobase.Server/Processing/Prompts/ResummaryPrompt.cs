using Memobase.Server.Llm;
namespace Memobase.Server.Processing.Prompts;

/// <summary>Shortens one over-long profile memo (the user message is the memo itself).</summary>
public static class ResummaryPrompt
{
    /// <param name="maxTokens">The length the answer is cut to afterwards.</param>
    public static string System(int maxTokens) => $"""
        {PromptStages.Marker(PromptStages.Resummary)}
        You condense one memo of a user's profile. Rewrite it as a short, high-level summary of the user's preference or
        situation: generalise long enumerations (for example "likes chocolate, ice cream, cake, cookies, brownies" becomes
        "likes sweet food (cake, cookies...)"), keep the most important facts and the most recent time annotations, and
        invent nothing. Stay under {maxTokens} tokens. Answer with the summary only, in the language of the memo.
        """;
}
