using Memobase.Server.Llm;
using Memobase.Server.Tokenization;
using Memobase.Server.Content;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Profiles;

/// <summary>The outcome of <see cref="ProfileFilter.FilterAsync"/>.</summary>
/// <param name="Profiles">The relevant profiles in the model's order, or null when filtering failed (use the unfiltered list).</param>
/// <param name="Reason">The model's short explanation, when it gave one.</param>
/// <param name="Usage">The LLM call's cost (record it in the project's usage even on failure).</param>
public sealed record ProfileFilterResult(IReadOnlyList<ExistingProfile>? Profiles, string? Reason, LlmUsage Usage);

/// <summary>
/// Profile filtering with chats, used by GET profile with <c>chats_str</c> and by the context API with
/// <c>full_profile_and_only_search_event=false</c>: one LLM call (summary model) picks the entries relevant to the
/// latest messages. Thread-safe; registered as a singleton.
/// </summary>
public sealed partial class ProfileFilter(LlmClient llm, ILogger<ProfileFilter> logger)
{
    /// <summary>How many of the latest messages are shown to the model.</summary>
    public const int MaxMessages = 5;

    /// <summary>Each profile value is cut to this many tokens in the prompt.</summary>
    public const int MaxValueTokens = 10;

    /// <summary>How many entries the model is asked to pick at most.</summary>
    public const int MaxPicks = 10;

    /// <summary>
    /// Candidates are <paramref name="profiles"/> whose topic (trimmed) is in <paramref name="onlyTopics"/> (all when null
    /// or empty), sorted by (topic, sub_topic) and numbered from 0 as <c>i. topic,sub_topic,value</c>. The answer's first
    /// list of integers is taken as the picks; out-of-range numbers are dropped. No chats, no profiles, an LLM failure or
    /// an answer without a list give <c>Profiles = null</c>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<ProfileFilterResult> FilterAsync(IReadOnlyList<ExistingProfile> profiles, IReadOnlyList<ChatMessage> chats,
        IReadOnlyCollection<string>? onlyTopics, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(chats);
        if (chats.Count == 0 || profiles.Count == 0)
        {
            return new ProfileFilterResult(null, null, LlmUsage.None);
        }
        var topics = onlyTopics is { Count: > 0 } ? onlyTopics.Select(t => t.Trim()).ToHashSet(StringComparer.Ordinal) : null;
        var candidates = profiles.Where(p => topics is null || topics.Contains(p.Topic.Trim()))
            .OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.SubTopic, StringComparer.Ordinal).ToList();
        var entries = candidates.Select((p, i) => $"{i}. {p.Topic},{p.SubTopic},{O200kTokenizer.Instance.TruncateWithEllipsis(p.Content, MaxValueTokens)}");
        var messages = chats.Skip(Math.Max(0, chats.Count - MaxMessages));

        LlmCompletion completion;
        try
        {
            using var stage = LlmCallContext.ForStage("profile_filter");
            completion = await llm.CompleteAsync(llm.SummaryModel, ProfileFilterPrompt.System(MaxPicks), ProfileFilterPrompt.User(messages, entries), ct);
        }
        catch (LlmException ex)
        {
            LogFailed(logger, ex.Message);
            return new ProfileFilterResult(null, null, LlmUsage.None);
        }
        var usage = new LlmUsage(1, completion.PromptTokens, completion.CompletionTokens, completion.ElapsedMs);
        var ids = ProfileFilterReply.FindFirstIntList(completion.Text);
        if (ids is null)
        {
            LogUnparsable(logger, O200kTokenizer.Instance.CountTokens(completion.Text));
            return new ProfileFilterResult(null, null, usage);
        }
        var picked = ids.Where(i => i >= 0 && i < candidates.Count).Distinct().Select(i => candidates[i]).ToList();
        return new ProfileFilterResult(picked, TryReason(completion.Text), usage);
    }

    private static string? TryReason(string text)
    {
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        if (start < 0 || end <= start) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(text[start..(end + 1)]);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("reason", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String ? r.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Profile filtering failed, using all profiles: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Profile filtering answer ({Tokens} tokens) has no list of ids, using all profiles")]
    private static partial void LogUnparsable(ILogger logger, int tokens);
}
