using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Profiles;

/// <summary>A new profile row a flush decided on.</summary>
public sealed record ProfileAdd(Guid Id, string Content, string AttributesJson);

/// <summary>A profile row a flush rewrites.</summary>
public sealed record ProfileUpdate(Guid Id, string Content, string AttributesJson);

/// <summary>
/// A flush's profile changes as batch statements: the job queue runs them in the transaction that completes the job,
/// in one round trip with the other owners' statements.
/// </summary>
public static class ProfileWrites
{
    public static IEnumerable<NpgsqlBatchCommand> Commands(string projectId, Guid userId, IReadOnlyList<ProfileAdd> adds,
        IReadOnlyList<ProfileUpdate> updates, IReadOnlyList<Guid> deletes)
    {
        if (adds.Count > 0)
        {
            yield return Sql.BatchCommand("""
                INSERT INTO user_profiles (project_id, id, user_id, content, attributes)
                SELECT $1, a.id, $2, a.content, a.attributes::jsonb FROM unnest($3::uuid[], $4::text[], $5::text[]) AS a(id, content, attributes)
                """, projectId, userId, adds.Select(a => a.Id).ToArray(), adds.Select(a => a.Content).ToArray(),
                adds.Select(a => a.AttributesJson).ToArray());
        }
        if (updates.Count > 0)
        {
            yield return Sql.BatchCommand("""
                UPDATE user_profiles p SET content = u.content, attributes = u.attributes::jsonb, updated_at = now()
                FROM unnest($3::uuid[], $4::text[], $5::text[]) AS u(id, content, attributes)
                WHERE p.project_id = $1 AND p.user_id = $2 AND p.id = u.id
                """, projectId, userId, updates.Select(u => u.Id).ToArray(), updates.Select(u => u.Content).ToArray(),
                updates.Select(u => u.AttributesJson).ToArray());
        }
        if (deletes.Count > 0)
        {
            yield return Sql.BatchCommand("DELETE FROM user_profiles WHERE project_id = $1 AND user_id = $2 AND id = ANY($3)",
                projectId, userId, deletes.ToArray());
        }
    }
}
