using System.Globalization;
using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Serialization;
using Memobase.Server.Tokenization;
using Npgsql;
using Memobase.Server.Content;

namespace Memobase.Server.Profiles;

/// <summary>Upstream's ProfileData: <c>{id, content, created_at, updated_at, attributes}</c>.</summary>
public sealed record ProfileData(Guid Id, string Content, DateTime CreatedAt, DateTime UpdatedAt, JsonElement Attributes);

public sealed record ProfilesData(IReadOnlyList<ProfileData> Profiles);

/// <summary>One stored profile row; <see cref="Topic"/>/<see cref="SubTopic"/> are read from its attributes (null when absent).</summary>
public sealed record StoredProfile(Guid Id, string Content, string? Topic, string? SubTopic, string? AttributesJson, DateTime CreatedAt, DateTime UpdatedAt)
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    public ProfileData ToData() => new(Id, Content, CreatedAt, UpdatedAt, Json.Raw(AttributesJson) ?? EmptyObject);

    /// <summary>The shape <see cref="ProfileFilter"/> works on.</summary>
    public ExistingProfile ToExisting() => new(Id, Topic ?? "", SubTopic ?? "", Content, AttributesJson, UpdatedAt);

    /// <summary>
    /// <c>topic::sub_topic: content</c>: what the token budget counts and what the context's profile section lists
    /// (a missing attribute prints as Python's <c>None</c>, as upstream's f-string does).
    /// </summary>
    public string Line => $"{Topic ?? "None"}::{SubTopic ?? "None"}: {Content}";
}

/// <summary>
/// Upstream's <c>truncate_profiles</c>, applied in this order:
/// <list type="number">
/// <item>newest <c>updated_at</c> first;</item>
/// <item><see cref="PreferTopics"/> (trimmed) move to the front, ordered by their position in the list (a topic listed
///   twice takes its last position, like upstream's dict), the rest keep their order;</item>
/// <item><see cref="OnlyTopics"/> (trimmed): keep only those topics;</item>
/// <item>per topic keep the first N: <see cref="TopicLimits"/>[topic] when present (0 keeps none), else
///   <see cref="MaxSubtopicSize"/> (0 or negative: unlimited);</item>
/// <item><see cref="TopK"/> (when not 0): the first N;</item>
/// <item><see cref="MaxTokenSize"/> (when not 0): cut before the first profile whose <see cref="StoredProfile.Line"/>
///   tokens overflow the running total — but the first profile is always kept.</item>
/// </list>
/// </summary>
public sealed record ProfileTruncation(
    IReadOnlyList<string>? PreferTopics = null,
    IReadOnlyList<string>? OnlyTopics = null,
    int? MaxSubtopicSize = null,
    IReadOnlyDictionary<string, int>? TopicLimits = null,
    int? TopK = null,
    int? MaxTokenSize = null)
{
    public List<StoredProfile> Apply(IEnumerable<StoredProfile> profiles)
    {
        var list = profiles.OrderByDescending(p => p.UpdatedAt).ToList(); // stable, like Python's sort
        if (list.Count == 0) return list;

        if (PreferTopics is { Count: > 0 })
        {
            var weights = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < PreferTopics.Count; i++) weights[PreferTopics[i].Trim()] = i;
            var preferred = list.Where(p => p.Topic is not null && weights.ContainsKey(p.Topic)).OrderBy(p => weights[p.Topic!]);
            var others = list.Where(p => p.Topic is null || !weights.ContainsKey(p.Topic));
            list = [.. preferred, .. others];
        }

        if (OnlyTopics is { Count: > 0 })
        {
            var only = OnlyTopics.Select(t => t.Trim()).ToHashSet(StringComparer.Ordinal);
            list = list.Where(p => p.Topic is not null && only.Contains(p.Topic.Trim())).ToList();
        }

        if (MaxSubtopicSize is not (null or 0) || TopicLimits is { Count: > 0 })
        {
            var fallback = MaxSubtopicSize is { } m and not 0 ? m : -1;
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            var kept = new List<StoredProfile>(list.Count);
            foreach (var p in list)
            {
                var key = p.Topic ?? "\0";
                var count = counts[key] = counts.GetValueOrDefault(key) + 1;
                var limit = p.Topic is not null && TopicLimits is not null && TopicLimits.TryGetValue(p.Topic, out var l) ? l : fallback;
                if (limit >= 0 && count > limit) continue;
                kept.Add(p);
            }
            list = kept;
        }

        if (TopK is { } k and > 0 && list.Count > k) list = list.GetRange(0, k);

        if (MaxTokenSize is { } max and not 0 && list.Count > 0)
        {
            var used = 0;
            var keep = 0;
            foreach (var p in list)
            {
                used += O200kTokenizer.Instance.CountTokens(p.Line);
                if (used > max) break;
                keep++;
            }
            list = list.GetRange(0, Math.Max(1, keep));
        }
        return list;
    }
}

/// <summary>Reads a user's profiles (newest first) with one indexed query.</summary>
public sealed class ProfileReader(NpgsqlDataSource db)
{
    public async Task<List<StoredProfile>> LoadAsync(string projectId, Guid userId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT id, content,
                   CASE WHEN jsonb_typeof(attributes -> 'topic') = 'string' THEN attributes ->> 'topic' END,
                   CASE WHEN jsonb_typeof(attributes -> 'sub_topic') = 'string' THEN attributes ->> 'sub_topic' END,
                   attributes::text, created_at, updated_at
            FROM user_profiles WHERE project_id = $1 AND user_id = $2
            ORDER BY updated_at DESC, id
            """, projectId, userId);
        var result = new List<StoredProfile>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(new StoredProfile(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetDateTime(5),
                reader.GetDateTime(6)));
        }
        return result;
    }

    /// <summary>Keeps the profiles <see cref="ProfileFilter"/> picked; a failed filter (null) keeps them all.</summary>
    public static List<StoredProfile> KeepPicked(List<StoredProfile> profiles, IReadOnlyList<ExistingProfile>? picked)
    {
        if (picked is null) return profiles;
        var ids = picked.Select(p => p.Id).ToHashSet();
        return profiles.Where(p => ids.Contains(p.Id)).ToList();
    }
}

/// <summary>Parsing of the JSON-in-a-query-string parameters shared by the profile and context endpoints.</summary>
public static class ProfileQuery
{
    /// <summary>
    /// <c>topic_limits_json</c> (or the TypeScript SDK's <c>topic_limits</c>): a JSON object topic → integer. Null or empty
    /// means none. Integers may also be given as integral numbers (<c>3.0</c>) or numeric strings, as pydantic accepts.
    /// </summary>
    public static bool TryParseTopicLimits(string? json, out Dictionary<string, int> limits, out string? error)
    {
        limits = new Dictionary<string, int>(StringComparer.Ordinal);
        error = null;
        if (string.IsNullOrWhiteSpace(json)) return true;
        if (!TryParseJson(json, "topic_limits_json", out var root, out error)) return false;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "topic_limits_json: Input should be a valid dictionary";
            return false;
        }
        foreach (var property in root.EnumerateObject())
        {
            if (!TryGetInt(property.Value, out var value))
            {
                error = $"topic_limits_json.{property.Name}: Input should be a valid integer";
                return false;
            }
            limits[property.Name] = value;
        }
        return true;
    }

    /// <summary><c>chats_str</c>: a JSON list of OpenAI-style messages (role user|assistant, content, optional alias/created_at).</summary>
    public static bool TryParseChats(string? json, out IReadOnlyList<ChatMessage> chats, out string? error)
    {
        chats = [];
        error = null;
        if (string.IsNullOrWhiteSpace(json)) return true;
        if (!TryParseJson(json, "chats_str", out var root, out error)) return false;
        if (root.ValueKind != JsonValueKind.Array)
        {
            error = "chats_str: Input should be a valid list";
            return false;
        }
        using var wrapper = JsonDocument.Parse("{\"messages\":" + root.GetRawText() + "}");
        var (content, parseError) = BlobParser.Parse(BlobTypes.Chat, wrapper.RootElement);
        if (parseError is not null)
        {
            error = "chats_str" + (parseError.StartsWith("messages", StringComparison.Ordinal) ? parseError["messages".Length..] : ": " + parseError);
            return false;
        }
        chats = ((ChatContent)content!).Messages;
        return true;
    }

    private static bool TryParseJson(string json, string name, out JsonElement root, out string? error)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            root = default;
            error = $"{name} is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, position {(ex.BytePositionInLine ?? 0) + 1})";
            return false;
        }
    }

    private static bool TryGetInt(JsonElement value, out int result)
    {
        result = 0;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                if (value.TryGetInt32(out result)) return true;
                if (value.TryGetDouble(out var d) && Math.Floor(d) == d && d is >= int.MinValue and <= int.MaxValue)
                {
                    result = (int)d;
                    return true;
                }
                return false;
            case JsonValueKind.String:
                return int.TryParse(value.GetString()?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result);
            default:
                return false;
        }
    }
}
