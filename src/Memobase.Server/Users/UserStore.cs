using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Webhooks;
using Npgsql;

namespace Memobase.Server.Users;

/// <summary>Creating users (shared by the REST API and the MCP tools) and deleting them.</summary>
public sealed class UserStore(NpgsqlDataSource db)
{
    public static Failure NotFound(Guid userId) => Failure.UserNotFound(userId);

    public static Failure AlreadyExists(Guid userId) => new(Errno.Conflict, $"User {userId} already exists");

    /// <summary>Inserts the user with its custom fields (a JSON object, or null).</summary>
    /// <param name="shared">The request's transaction to write in, if any.</param>
    /// <returns>False when the user already exists in the project (it is left unchanged).</returns>
    public async Task<bool> CreateAsync(string projectId, Guid userId, string? fieldsJson, RequestTransaction? shared, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, shared, """
            INSERT INTO users (project_id, id, additional_fields) VALUES ($1, $2, $3)
            ON CONFLICT (project_id, id) DO NOTHING
            """, projectId, userId, Sql.Jsonb(fieldsJson));
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>The user's custom fields (raw JSON or null) and timestamps, or null when the project has no such user.</summary>
    public async Task<(string? FieldsJson, DateTime CreatedAt, DateTime UpdatedAt)?> GetAsync(string projectId, Guid userId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, "SELECT additional_fields::text, created_at, updated_at FROM users WHERE project_id = $1 AND id = $2",
            projectId, userId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetDateTime(1), reader.GetDateTime(2));
    }

    /// <summary>Replaces the user's custom fields with <paramref name="fieldsJson"/> (a JSON object).</summary>
    /// <returns>False when the project has no such user.</returns>
    public async Task<bool> UpdateFieldsAsync(string projectId, Guid userId, string fieldsJson, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, "UPDATE users SET additional_fields = $3, updated_at = now() WHERE project_id = $1 AND id = $2",
            projectId, userId, Sql.Jsonb(fieldsJson));
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Deletes the user (everything it owns cascades) and writes its <c>user.deleted</c> webhook messages, in one transaction.</summary>
    /// <returns>False when the project has no such user.</returns>
    public async Task<bool> DeleteAsync(string projectId, Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand("DELETE FROM users WHERE project_id = $1 AND id = $2", conn, tx))
        {
            Sql.Add(cmd.Parameters, projectId, userId);
            if (await cmd.ExecuteNonQueryAsync(ct) == 0) return false;
        }
        await WebhookOutbox.WriteAsync(conn, tx, projectId, WebhookEvents.UserDeleted, userId, new UserDeletedData(projectId, userId), ct);
        await tx.CommitAsync(ct);
        return true;
    }
}
