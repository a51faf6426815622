using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Events;

/// <summary>
/// <see cref="IEventVectorSearch"/> over <c>real[]</c> columns: similarity is computed in PostgreSQL by
/// <c>memobase_cosine_similarity(real[], real[])</c> (<see cref="Data.VectorFunctions"/>),
/// so only the top rows travel to the server. Vectors of another length than the query score NULL and never match.
/// </summary>
public sealed class ArrayEventVectorSearch(NpgsqlDataSource db) : IEventVectorSearch
{
    private const string EventsSql = """
        SELECT id, event_data::text, created_at, updated_at, similarity FROM (
            SELECT id, event_data, created_at, updated_at, memobase_cosine_similarity(embedding, $3) AS similarity
            FROM user_events
            WHERE project_id = $1 AND user_id = $2 AND embedding IS NOT NULL
              AND created_at > now() - make_interval(days => $4)
        ) ranked
        WHERE similarity > $5
        ORDER BY similarity DESC, created_at DESC
        LIMIT $6
        """;

    private const string GistsSql = """
        SELECT id, gist_data::text, created_at, updated_at, similarity FROM (
            SELECT id, gist_data, created_at, updated_at, memobase_cosine_similarity(embedding, $3) AS similarity
            FROM user_event_gists
            WHERE project_id = $1 AND user_id = $2 AND embedding IS NOT NULL
              AND created_at > now() - make_interval(days => $4)
        ) ranked
        WHERE similarity > $5
        ORDER BY similarity DESC, created_at DESC
        LIMIT $6
        """;

    public async Task<IReadOnlyList<EventRow>> SearchEventsAsync(VectorQuery query, CancellationToken ct)
    {
        await using var cmd = Command(EventsSql, query);
        return await EventStore.ReadEventsAsync(cmd, withSimilarity: true, ct);
    }

    public async Task<IReadOnlyList<GistRow>> SearchGistsAsync(VectorQuery query, CancellationToken ct)
    {
        await using var cmd = Command(GistsSql, query);
        return await EventStore.ReadGistsAsync(cmd, withSimilarity: true, ct);
    }

    private NpgsqlCommand Command(string sql, VectorQuery query)
    {
        var cmd = db.CreateCommand(sql);
        EventStore.AddScope(cmd, query.ProjectId, query.UserId);
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Vector, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Real });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Math.Clamp(query.TimeRangeInDays, -EventStore.MaxDays, EventStore.MaxDays) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.SimilarityThreshold, NpgsqlDbType = NpgsqlDbType.Double });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Math.Max(0, query.TopK) });
        return cmd;
    }
}
