using System.Text;
using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Tokenization;
using Npgsql;

namespace Memobase.Server.Events;

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
