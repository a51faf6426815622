using System.Text;
using Memobase.Server.Buffers;
using Memobase.Server.Events;
using Memobase.Server.Infrastructure;
using Memobase.Server.Llm;
using Memobase.Server.Profiles;
using Memobase.Server.Projects;
using Memobase.Server.Tokenization;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Content;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Context;

/// <summary>The context endpoint's parameters, parsed (defaults are upstream's, see <see cref="ContextApi"/>).</summary>
public sealed record ContextRequest(
    int MaxTokenSize,
    IReadOnlyList<string>? PreferTopics,
    IReadOnlyList<string>? OnlyTopics,
    int? MaxSubtopicSize,
    IReadOnlyDictionary<string, int> TopicLimits,
    double ProfileEventRatio,
    IReadOnlyList<ChatMessage> Chats,
    double EventSimilarityThreshold,
    int TimeRangeInDays,
    string? CustomizeContextPrompt,
    bool FullProfileAndOnlySearchEvent,
    bool FillWindowWithEvents,
    bool IncludeBuffer)
{
    public const int DefaultMaxTokenSize = 1000;
    public const double DefaultProfileEventRatio = 0.6;
    public const double DefaultEventSimilarityThreshold = 0.2;
    public const int DefaultTimeRangeInDays = 180;
    public const bool DefaultFullProfileAndOnlySearchEvent = true;
}

public sealed record ContextData(string Context);

/// <summary>
/// Packs a user's memory into one prompt section within a token budget, as upstream's <c>get_user_context</c>:
/// <list type="number">
/// <item>profile budget = ⌊max_token_size × profile_event_ratio⌋;</item>
/// <item>profiles (when the budget is positive): LLM-filtered by the chats when chats are given and
///   full_profile_and_only_search_event is false, then truncated (prefer/only topics, per-topic limits, budget, at least
///   one kept) and listed as <c>- topic::sub_topic: content</c> lines (a user without profiles gets a lone <c>"- "</c>);</item>
/// <item>gists, concurrently: with chats and embeddings on, the 60 most similar to the last 3 messages (above
///   event_similarity_threshold, within time_range_in_days); otherwise the newest 60 within time_range_in_days. If the
///   embedding API fails, or the search does not finish within search_timeout_ms, the newest gists are used instead
///   (upstream fails the whole request);</item>
/// <item>event budget = max_token_size − tokens(profile section), and at most max_token_size − profile budget unless
///   fill_window_with_events; gists are kept in order while their running token total fits;</item>
/// <item>optionally (<see cref="ContextRequest.IncludeBuffer"/>, beyond upstream) the newest still-unprocessed chat
///   messages (idle, processing or failed buffer entries) that fit in what is left of max_token_size;</item>
/// <item>rendered with upstream's template for the project's language (en or zh), or with customize_context_prompt.</item>
/// </list>
/// </summary>
public sealed partial class ContextBuilder(
    ProfileReader profiles,
    ProfileFilter filter,
    EventStore events,
    IEventVectorSearch vectors,
    ProfileConfigStore configs,
    BufferEntryReader buffers,
    EmbeddingClient embeddings,
    UsageRecorder usage,
    IOptionsMonitor<BufferOptions> bufferOptions,
    IOptions<ProfileOptions> profileOptions,
    ILoggerFactory logs)
{
    /// <summary>How many gists are fetched before the token budget is applied (upstream: 60).</summary>
    public const int GistCandidates = 60;

    /// <summary>How many of the latest chat messages form the gist search query.</summary>
    public const int QueryMessages = 3;

    /// <summary>At most this many unprocessed buffer entries are looked at for the buffer section.</summary>
    public const int MaxBufferEntries = 200;

    public const string BufferHeading = "## Recent Unprocessed Chats:";

    public async Task<(ContextData? Data, Failure? Failure)> BuildAsync(string projectId, Guid userId, ContextRequest request, CancellationToken ct)
    {
        if (!(request.ProfileEventRatio > 0 && request.ProfileEventRatio <= 1))
        {
            return (null, Failure.BadRequest("profile_event_ratio must be greater than 0 and at most 1"));
        }
        ContextTemplate? custom = null;
        if (request.CustomizeContextPrompt is { } prompt)
        {
            (custom, var error) = ContextTemplate.Parse(prompt);
            if (error is not null) return (null, Failure.BadRequest($"Invalid customize_context_prompt: {error}"));
        }

        var profileBudget = (int)(request.MaxTokenSize * request.ProfileEventRatio);
        var profileTask = ProfileSectionAsync(projectId, userId, request, profileBudget, ct);
        var gistTask = GistsAsync(projectId, userId, request, ct);
        var template = custom ?? ContextTemplate.Default(await LanguageAsync(projectId, ct));
        var profileSection = await profileTask;
        var gists = await gistTask;

        var tokenizer = O200kTokenizer.Instance;
        var profileTokens = tokenizer.CountTokens(profileSection);
        var eventBudget = request.FillWindowWithEvents
            ? request.MaxTokenSize - profileTokens
            : Math.Min(request.MaxTokenSize - profileTokens, request.MaxTokenSize - profileBudget);
        var kept = new List<string>();
        if (eventBudget > 0)
        {
            var used = 0;
            foreach (var gist in gists)
            {
                var content = gist.Content;
                used += tokenizer.CountTokens(content);
                if (used > eventBudget) break;
                kept.Add(content);
            }
        }
        var eventSection = string.Join("\n", kept);

        string? bufferSection = null;
        if (request.IncludeBuffer)
        {
            var left = request.MaxTokenSize - profileTokens - tokenizer.CountTokens(eventSection);
            bufferSection = left > 0 ? await BufferSectionAsync(projectId, userId, left, ct) : "";
        }
        return (new ContextData(template.Render(profileSection, eventSection, bufferSection)), null);
    }

    private async Task<string> ProfileSectionAsync(string projectId, Guid userId, ContextRequest request, int budget, CancellationToken ct)
    {
        if (budget <= 0) return "";
        var list = await profiles.LoadAsync(projectId, userId, ct);
        if (request.Chats.Count > 0 && !request.FullProfileAndOnlySearchEvent && list.Count > 0)
        {
            using var project = LlmCallContext.ForProject(projectId);
            var filtered = await filter.FilterAsync(list.Select(p => p.ToExisting()).ToList(), request.Chats, request.OnlyTopics, ct);
            usage.RecordLlmTokens(projectId, filtered.Usage.PromptTokens, filtered.Usage.CompletionTokens);
            list = ProfileReader.KeepPicked(list, filtered.Profiles);
        }
        var kept = new ProfileTruncation(request.PreferTopics, request.OnlyTopics, request.MaxSubtopicSize, request.TopicLimits, null, budget).Apply(list);
        return "- " + string.Join("\n- ", kept.Select(p => p.Line));
    }

    private async Task<IReadOnlyList<GistRow>> GistsAsync(string projectId, Guid userId, ContextRequest request, CancellationToken ct)
    {
        if (request.Chats.Count > 0 && embeddings.IsEnabled)
        {
            var query = string.Join("\n", request.Chats.Skip(Math.Max(0, request.Chats.Count - QueryMessages)).Select(m => m.Content));
            var (vector, failure) = await EventService.EmbedQueryAsync(embeddings, projectId, query, logs, ct);
            if (failure is null)
            {
                try
                {
                    return await vectors.SearchGistsAsync(
                        new VectorQuery(projectId, userId, vector!, GistCandidates, request.EventSimilarityThreshold, request.TimeRangeInDays), ct);
                }
                catch (EventSearchTimeoutException ex)
                {
                    LogSearchTimedOut(logs.CreateLogger<ContextBuilder>(), userId, ex.TimeoutMs);
                }
            }
        }
        return await events.RecentGistsAsync(projectId, userId, GistCandidates, request.TimeRangeInDays, ct);
    }

    private async Task<string> LanguageAsync(string projectId, CancellationToken ct)
    {
        var yaml = await configs.GetAsync(projectId, ct);
        return ProfileConfig.Parse(yaml).Config?.Language ?? profileOptions.Value.Language;
    }

    [LoggerMessage(EventId = 4501, Level = LogLevel.Warning, Message = "Context gist search for user {UserId} did not finish within {TimeoutMs} ms; using the newest gists")]
    private static partial void LogSearchTimedOut(ILogger logger, Guid userId, int timeoutMs);

    /// <summary>The newest unprocessed chat messages whose rendered lines fit in <paramref name="budget"/> tokens, oldest first.</summary>
    private async Task<string> BufferSectionAsync(string projectId, Guid userId, int budget, CancellationToken ct)
    {
        var timeZone = bufferOptions.CurrentValue.TimeZone;
        var lines = new List<string>(); // newest first
        var used = 0;
        foreach (var (chat, createdAt) in await buffers.UnprocessedChatsAsync(projectId, userId, MaxBufferEntries, ct))
        {
            for (var i = chat.Messages.Count - 1; i >= 0; i--)
            {
                var line = new ChatContent([chat.Messages[i]]).Render(createdAt, timeZone);
                used += O200kTokenizer.Instance.CountTokens(line);
                if (used > budget)
                {
                    lines.Reverse();
                    return string.Join("\n", lines);
                }
                lines.Add(line);
            }
        }
        lines.Reverse();
        return string.Join("\n", lines);
    }
}

/// <summary>
/// A context template with Python <c>str.format</c> semantics restricted to named fields: <c>{profile_section}</c>,
/// <c>{event_section}</c> and (our extension) <c>{buffer_section}</c>; <c>{{</c> and <c>}}</c> are literal braces. Any
/// other field or a lone brace is rejected with a message (upstream raises and answers errno 500), so a template that
/// works upstream renders identically here.
/// </summary>
public sealed class ContextTemplate
{
    private const string English = """
        ---
        # Memory
        Unless the user has relevant queries, do not actively mention those memories in the conversation.
        ## User Current Profile:
        {profile_section}

        ## Past Events:
        {event_section}
        ---

        """;

    private const string Chinese = """
        ---
        # 记忆
        除非用户有相关的需求，否则不要主动在对话中提到这些记忆.
        ## 用户当前状态：
        {profile_section}

        ## 过去事件：
        {event_section}
        ---

        """;

    private static readonly string[] Fields = ["profile_section", "event_section", "buffer_section"];

    private readonly List<(string? Literal, string? Field)> _parts;
    private readonly bool _isDefault;

    private ContextTemplate(List<(string?, string?)> parts, bool isDefault)
    {
        _parts = parts;
        _isDefault = isDefault;
    }

    private static readonly ContextTemplate EnglishTemplate = new(Parse(English.ReplaceLineEndings("\n")).Template!._parts, isDefault: true);
    private static readonly ContextTemplate ChineseTemplate = new(Parse(Chinese.ReplaceLineEndings("\n")).Template!._parts, isDefault: true);

    /// <summary>Upstream's template for <paramref name="language"/> (<c>zh</c>, else English).</summary>
    public static ContextTemplate Default(string language) => language == "zh" ? ChineseTemplate : EnglishTemplate;

    public static (ContextTemplate? Template, string? Error) Parse(string template)
    {
        var parts = new List<(string?, string?)>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if (c == '{')
            {
                if (i + 1 < template.Length && template[i + 1] == '{')
                {
                    literal.Append('{');
                    i += 2;
                    continue;
                }
                var end = template.IndexOf('}', i + 1);
                if (end < 0) return (null, $"unmatched '{{' at position {i}; write a literal brace as '{{{{'");
                var name = template[(i + 1)..end];
                if (Array.IndexOf(Fields, name) < 0)
                {
                    return (null, $"unknown placeholder '{{{name}}}' at position {i}; the placeholders are {{profile_section}}, " +
                                  "{event_section} and {buffer_section}, and literal braces are written '{{' and '}}'");
                }
                if (literal.Length > 0) parts.Add((literal.ToString(), null));
                literal.Clear();
                parts.Add((null, name));
                i = end + 1;
            }
            else if (c == '}')
            {
                if (i + 1 < template.Length && template[i + 1] == '}')
                {
                    literal.Append('}');
                    i += 2;
                    continue;
                }
                return (null, $"single '}}' at position {i}; write a literal brace as '}}}}'");
            }
            else
            {
                literal.Append(c);
                i++;
            }
        }
        if (literal.Length > 0) parts.Add((literal.ToString(), null));
        return (new ContextTemplate(parts, isDefault: false), null);
    }

    /// <summary>
    /// Fills the template. With a <paramref name="bufferSection"/> (include_buffer) and a template without
    /// <c>{buffer_section}</c>, the section is added under <see cref="ContextBuilder.BufferHeading"/>: in the default
    /// template after the events (before the closing <c>---</c>), in a custom one at the end.
    /// </summary>
    public string Render(string profileSection, string eventSection, string? bufferSection)
    {
        var sb = new StringBuilder();
        var placed = _parts.Any(p => p.Field == "buffer_section");
        foreach (var (lit, field) in _parts)
        {
            if (lit is not null)
            {
                sb.Append(lit);
                continue;
            }
            sb.Append(field switch
            {
                "profile_section" => profileSection,
                "event_section" => eventSection,
                _ => bufferSection ?? "",
            });
            if (field == "event_section" && _isDefault && bufferSection is not null && !placed)
            {
                sb.Append("\n\n").Append(ContextBuilder.BufferHeading).Append('\n').Append(bufferSection);
            }
        }
        if (bufferSection is not null && !placed && !_isDefault)
        {
            if (sb.Length > 0 && sb[^1] != '\n') sb.Append('\n');
            sb.Append(ContextBuilder.BufferHeading).Append('\n').Append(bufferSection);
        }
        return sb.ToString();
    }
}
