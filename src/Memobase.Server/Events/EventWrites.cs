using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Serialization;
using Npgsql;

namespace Memobase.Server.Events;

/// <summary>A gist of a new event (one bullet of its summary).</summary>
public sealed record GistPlan(Guid Id, string Content, float[]? Embedding);

/// <summary>The event a flush writes: <paramref name="EventDataJson"/> always has event_tip, event_tags and profile_delta (a list).</summary>
public sealed record EventPlan(Guid Id, string EventDataJson, float[]? Embedding, IReadOnlyList<GistPlan> Gists);

/// <summary>
/// A flush's new event and its gists as batch statements, run by the job queue in the transaction that completes the
/// job. Each row with an embedding also gets its sign-bit copy (<see cref="SignCode"/>), which vector search ranks by.
/// </summary>
public static class EventWrites
{
    public static IEnumerable<NpgsqlBatchCommand> Commands(string projectId, Guid userId, EventPlan ev)
    {
        yield return Sql.BatchCommand("""
            INSERT INTO user_events (project_id, id, user_id, event_data, embedding, embedding_bits) VALUES ($1, $2, $3, $4::jsonb, $5, $6)
            """, projectId, ev.Id, userId, ev.EventDataJson, (object?)ev.Embedding ?? DBNull.Value, SignBits(ev.Embedding));
        foreach (var gist in ev.Gists)
        {
            yield return Sql.BatchCommand("""
                INSERT INTO user_event_gists (project_id, id, user_id, event_id, gist_data, embedding, embedding_bits) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
                """, projectId, gist.Id, userId, ev.Id, JsonSerializer.Serialize(new { content = gist.Content }, Json.Storage),
                (object?)gist.Embedding ?? DBNull.Value, SignBits(gist.Embedding));
        }
    }

    private static object SignBits(float[]? embedding) => embedding is null ? DBNull.Value : SignCode.Of(embedding);
}
