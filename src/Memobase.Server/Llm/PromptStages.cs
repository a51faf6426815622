namespace Memobase.Server.Llm;

/// <summary>
/// Every pipeline system prompt starts with a stable marker line <c>Task-ID: memobase.&lt;stage&gt;</c>, so logs, fakes
/// and tests can tell the stages apart without depending on prompt wording or language.
/// </summary>
public static class PromptStages
{
    public const string MarkerPrefix = "Task-ID: memobase.";

    /// <summary>Call 1: chats → bullet log (summary model).</summary>
    public const string EntrySummary = "entry_summary";

    /// <summary>Call 2: memo → <c>- topic::sub_topic::memo</c> facts.</summary>
    public const string Extract = "extract";

    /// <summary>Call 3: batched APPEND/UPDATE/ABORT decisions.</summary>
    public const string Merge = "merge";

    /// <summary>Regrouping of an over-full topic.</summary>
    public const string Organize = "organize";

    /// <summary>Shortening of a too-long profile (summary model).</summary>
    public const string Resummary = "resummary";

    /// <summary>Call 4: event tags.</summary>
    public const string EventTagging = "event_tagging";

    /// <summary>Profile filtering with chats (summary model).</summary>
    public const string ProfileFilter = "profile_filter";

    public static IReadOnlyList<string> All { get; } = [EntrySummary, Extract, Merge, Organize, Resummary, EventTagging, ProfileFilter];

    /// <summary>The marker line of <paramref name="stage"/>.</summary>
    public static string Marker(string stage) => MarkerPrefix + stage;

    /// <summary>The stage named by the marker in <paramref name="systemPrompt"/>, or null.</summary>
    public static string? Detect(string? systemPrompt)
    {
        if (string.IsNullOrEmpty(systemPrompt)) return null;
        var at = systemPrompt.IndexOf(MarkerPrefix, StringComparison.Ordinal);
        if (at < 0) return null;
        var start = at + MarkerPrefix.Length;
        var end = start;
        while (end < systemPrompt.Length && (char.IsAsciiLetterOrDigit(systemPrompt[end]) || systemPrompt[end] == '_')) end++;
        var stage = systemPrompt[start..end];
        return All.Contains(stage) ? stage : null;
    }
}
