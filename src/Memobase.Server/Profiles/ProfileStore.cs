using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Users;
using Npgsql;

namespace Memobase.Server.Profiles;

/// <summary>Single-profile writes shared by the API, the MCP tools and the admin console.</summary>
public sealed class ProfileStore(NpgsqlDataSource db)
{
    /// <returns>False when the profile does not exist for that user.</returns>
    public async Task<bool> DeleteAsync(string projectId, Guid userId, Guid profileId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, "DELETE FROM user_profiles WHERE project_id = $1 AND user_id = $2 AND id = $3", projectId, userId, profileId);
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Adds one profile; <paramref name="attributes"/> must hold string topic and sub_topic (else errno 520).</summary>
    /// <param name="shared">The request's transaction to write in, if any.</param>
    public async Task<(Guid? Id, Failure? Failure)> AddAsync(string projectId, Guid userId, string content, JsonElement? attributes,
        RequestTransaction? shared, CancellationToken ct)
    {
        if (ValidateAttributes(attributes) is { } attributeError)
        {
            return (null, new Failure(Errno.ServerParseError, $"Invalid profile attributes: {attributeError}"));
        }

        var id = Guid.NewGuid();
        await using var cmd = Sql.Command(db, shared, """
            INSERT INTO user_profiles (project_id, id, user_id, content, attributes)
            SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM users WHERE project_id = $1 AND id = $3)
            """, projectId, id, userId, content, Sql.Jsonb(attributes!.Value.GetRawText()));
        var inserted = await cmd.ExecuteNonQueryAsync(ct);
        return inserted == 0 ? (null, UserStore.NotFound(userId)) : (id, null);
    }

    /// <summary>
    /// Sets the profile's content. Its attributes are replaced by <paramref name="replaceAttributes"/> when that is not
    /// null, then the keys of <paramref name="mergeAttributes"/> (when not null) are written over them.
    /// </summary>
    /// <returns>False when the user has no such profile.</returns>
    public async Task<bool> UpdateAsync(string projectId, Guid userId, Guid profileId, string content,
        JsonElement? replaceAttributes, string? mergeAttributes, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            UPDATE user_profiles SET content = $4, attributes = coalesce($5, attributes) || coalesce($6, '{}'::jsonb), updated_at = now()
            WHERE project_id = $1 AND user_id = $2 AND id = $3
            """, projectId, userId, profileId, content, Sql.Jsonb(replaceAttributes?.GetRawText()), Sql.Jsonb(mergeAttributes));
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Upstream's ProfileAttributes: string <c>topic</c> and <c>sub_topic</c> are required; other keys are kept.</summary>
    private static string? ValidateAttributes(JsonElement? attributes)
    {
        if (attributes is not { } a) return "attributes: Input should be a valid dictionary with string topic and sub_topic";
        foreach (var name in (string[])["topic", "sub_topic"])
        {
            if (!a.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return $"{name}: Field required";
            if (v.ValueKind != JsonValueKind.String) return $"{name}: Input should be a valid string";
        }
        return null;
    }
}
