using System.Text;
using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Serialization;
using Memobase.Server.Tokenization;
using Npgsql;

namespace Memobase.Server.Events;

/// <summary>One stored event as read from <c>user_events</c> (similarity only for vector search).</summary>
public sealed record EventRow(Guid Id, string EventDataJson, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity = null);

/// <summary>One stored gist as read from <c>user_event_gists</c> (similarity only for vector search).</summary>
public sealed record GistRow(Guid Id, string GistDataJson, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity = null)
{
    /// <summary>The gist's text (<c>gist_data.content</c>), "" when missing.</summary>
    public string Content
    {
        get
        {
            using var doc = JsonDocument.Parse(GistDataJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("content", out var c)
                   && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
        }
    }
}

/// <summary>
/// Upstream's EventData as returned: <c>profile_delta</c> is always a list (<c>[]</c> when stored null or missing — the
/// Python SDK requires it), <c>event_tip</c> string or null, <c>event_tags</c> list or null. Other stored keys are dropped.
/// </summary>
public sealed record EventData(JsonElement ProfileDelta, string? EventTip, JsonElement? EventTags)
{
    private static readonly JsonElement EmptyList = JsonDocument.Parse("[]").RootElement.Clone();

    public static EventData FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return new EventData(EmptyList, null, null);
        var delta = root.TryGetProperty("profile_delta", out var d) && d.ValueKind == JsonValueKind.Array ? d.Clone() : EmptyList;
        var tip = root.TryGetProperty("event_tip", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        JsonElement? tags = root.TryGetProperty("event_tags", out var g) && g.ValueKind == JsonValueKind.Array ? g.Clone() : null;
        return new EventData(delta, tip, tags);
    }

    /// <summary>
    /// Upstream's <c>event_str_repr</c>, what event token budgets count: without a tip the delta lines
    /// <c>- topic::sub_topic: content</c>; with a tip the tag lines <c>- tag: value</c>, a newline, then the tip.
    /// </summary>
    public string Text()
    {
        var sb = new StringBuilder();
        if (EventTip is null)
        {
            foreach (var item in ProfileDelta.EnumerateArray())
            {
                if (sb.Length > 0) sb.Append('\n');
                var attributes = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("attributes", out var a) ? a : default;
                sb.Append("- ").Append(Str(attributes, "topic")).Append("::").Append(Str(attributes, "sub_topic"))
                    .Append(": ").Append(Str(item, "content"));
            }
            return sb.ToString();
        }
        if (EventTags is { } tags)
        {
            foreach (var tag in tags.EnumerateArray())
            {
                if (sb.Length > 0) sb.Append('\n');
                sb.Append("- ").Append(Str(tag, "tag")).Append(": ").Append(Str(tag, "value"));
            }
        }
        return sb.Append('\n').Append(EventTip).ToString();
    }

    private static string Str(JsonElement obj, string name)
        => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ValueKind == JsonValueKind.Null ? "None" : v.GetRawText()
            : "None";
}

/// <summary>Upstream's UserEventData. Timestamps are UTC (RFC 3339).</summary>
public sealed record UserEventData(Guid Id, EventData EventData, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity)
{
    public static UserEventData From(EventRow row) => new(row.Id, EventData.FromJson(row.EventDataJson), row.CreatedAt, row.UpdatedAt, row.Similarity);
}

/// <summary>Upstream's UserEventGistData: <c>gist_data</c> is <c>{"content": "- …"}</c>.</summary>
public sealed record UserEventGistData(Guid Id, JsonElement GistData, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity)
{
    public static UserEventGistData From(GistRow row)
        => new(row.Id, Json.Raw(row.GistDataJson)!.Value, row.CreatedAt, row.UpdatedAt, row.Similarity);
}

/// <summary>Event list payload; <c>gists</c> is always present (and empty), as upstream.</summary>
public sealed record UserEventsData(IReadOnlyList<UserEventData> Events, IReadOnlyList<UserEventGistData> Gists);

/// <summary>Gist search payload; <c>events</c> is always present (and empty): the TypeScript and Go SDKs read it.</summary>
public sealed record UserEventGistsData(IReadOnlyList<UserEventGistData> Gists, IReadOnlyList<UserEventData> Events);

/// <summary>
/// Event and gist queries (all scoped by project and user, served by the <c>(project_id, user_id, created_at DESC)</c>
/// indexes and, for tag search, the GIN index on <c>event_data -> 'event_tags'</c>). Vector ranking lives behind
/// <see cref="IEventVectorSearch"/>.
/// </summary>
public sealed class EventStore(NpgsqlDataSource db)
{
    /// <summary>The window of GET events (upstream's hard-coded controller default).</summary>
    public const int RecentEventDays = 21;

    /// <summary>Largest day window honoured (keeps <c>now() - days</c> inside PostgreSQL's timestamp range).</summary>
    public const int MaxDays = 1_000_000;

    /// <summary>Newest first, at most <paramref name="topk"/>, created within the last <paramref name="days"/> days.</summary>
    public async Task<List<EventRow>> RecentEventsAsync(string projectId, Guid userId, int topk, int days, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT id, event_data::text, created_at, updated_at FROM user_events
            WHERE project_id = $1 AND user_id = $2 AND created_at > now() - make_interval(days => $3)
            ORDER BY created_at DESC, id LIMIT $4
            """);
        AddScope(cmd, projectId, userId);
        Sql.Add(cmd.Parameters, Math.Clamp(days, -MaxDays, MaxDays), Math.Max(0, topk));
        return await ReadEventsAsync(cmd, withSimilarity: false, ct);
    }

    /// <summary>
    /// Newest first, at most <paramref name="topk"/>, whose <c>event_tags</c> contain every element of
    /// <paramref name="containment"/> (a JSON list of <c>{"tag"}</c> / <c>{"tag","value"}</c> objects). Null: no filter.
    /// </summary>
    public async Task<List<EventRow>> SearchByTagsAsync(string projectId, Guid userId, string? containment, int topk, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(containment is null
            ? """
              SELECT id, event_data::text, created_at, updated_at FROM user_events
              WHERE project_id = $1 AND user_id = $2 ORDER BY created_at DESC, id LIMIT $3
              """
            : """
              SELECT id, event_data::text, created_at, updated_at FROM user_events
              WHERE project_id = $1 AND user_id = $2 AND (event_data -> 'event_tags') @> $4
              ORDER BY created_at DESC, id LIMIT $3
              """);
        AddScope(cmd, projectId, userId);
        Sql.Add(cmd.Parameters, Math.Max(0, topk));
        if (containment is not null) Sql.Add(cmd.Parameters, Sql.Jsonb(containment));
        return await ReadEventsAsync(cmd, withSimilarity: false, ct);
    }

    /// <summary>Shallow merge of <paramref name="patchJson"/> (a JSON object) into the event's data. False when the event does not exist.</summary>
    public async Task<bool> UpdateAsync(string projectId, Guid userId, Guid eventId, string patchJson, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE user_events SET event_data = CASE WHEN jsonb_typeof(event_data) = 'object' THEN event_data ELSE '{}'::jsonb END || $4,
                                   updated_at = now()
            WHERE project_id = $1 AND user_id = $2 AND id = $3
            """);
        AddScope(cmd, projectId, userId);
        Sql.Add(cmd.Parameters, eventId, Sql.Jsonb(patchJson));
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Deletes the event (its gists cascade). False when it does not exist.</summary>
    public async Task<bool> DeleteAsync(string projectId, Guid userId, Guid eventId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM user_events WHERE project_id = $1 AND user_id = $2 AND id = $3");
        AddScope(cmd, projectId, userId);
        Sql.Add(cmd.Parameters, eventId);
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Newest gists first, at most <paramref name="topk"/>, created within the last <paramref name="days"/> days.</summary>
    public async Task<List<GistRow>> RecentGistsAsync(string projectId, Guid userId, int topk, int days, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT id, gist_data::text, created_at, updated_at FROM user_event_gists
            WHERE project_id = $1 AND user_id = $2 AND created_at > now() - make_interval(days => $3)
            ORDER BY created_at DESC, id LIMIT $4
            """);
        AddScope(cmd, projectId, userId);
        Sql.Add(cmd.Parameters, Math.Clamp(days, -MaxDays, MaxDays), Math.Max(0, topk));
        return await ReadGistsAsync(cmd, withSimilarity: false, ct);
    }

    /// <summary>The gist texts of these events, per event, oldest first.</summary>
    public async Task<Dictionary<Guid, List<string>>> GistsOfEventsAsync(string projectId, Guid userId, IReadOnlyCollection<Guid> eventIds, CancellationToken ct)
    {
        var result = new Dictionary<Guid, List<string>>();
        if (eventIds.Count == 0) return result;
        await using var cmd = db.CreateCommand("""
            SELECT event_id, gist_data ->> 'content' FROM user_event_gists
            WHERE project_id = $1 AND user_id = $2 AND event_id = ANY($3) ORDER BY created_at, id
            """);
        AddScope(cmd, projectId, userId);
        Sql.Add(cmd.Parameters, eventIds.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (reader.IsDBNull(1)) continue;
            var id = reader.GetGuid(0);
            if (!result.TryGetValue(id, out var list)) result[id] = list = [];
            list.Add(reader.GetString(1));
        }
        return result;
    }

    /// <summary>Upstream's event truncation: keep events while the running token total of <see cref="EventData.Text"/> fits.</summary>
    public static List<UserEventData> TruncateByTokens(IEnumerable<UserEventData> events, int maxTokens)
    {
        var kept = new List<UserEventData>();
        var used = 0;
        foreach (var e in events)
        {
            used += O200kTokenizer.Instance.CountTokens(e.EventData.Text());
            if (used > maxTokens) break;
            kept.Add(e);
        }
        return kept;
    }

    internal static void AddScope(NpgsqlCommand cmd, string projectId, Guid userId)
    {
        Sql.Add(cmd.Parameters, projectId, userId);
    }

    internal static async Task<List<EventRow>> ReadEventsAsync(NpgsqlCommand cmd, bool withSimilarity, CancellationToken ct)
    {
        var rows = new List<EventRow>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new EventRow(reader.GetGuid(0), reader.GetString(1), reader.GetDateTime(2), reader.GetDateTime(3),
                withSimilarity ? reader.GetDouble(4) : null));
        }
        return rows;
    }

    internal static async Task<List<GistRow>> ReadGistsAsync(NpgsqlCommand cmd, bool withSimilarity, CancellationToken ct)
    {
        var rows = new List<GistRow>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new GistRow(reader.GetGuid(0), reader.GetString(1), reader.GetDateTime(2), reader.GetDateTime(3),
                withSimilarity ? reader.GetDouble(4) : null));
        }
        return rows;
    }
}
