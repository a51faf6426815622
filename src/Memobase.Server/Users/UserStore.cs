using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Users;

/// <summary>Creating users, shared by the REST API and the MCP tools.</summary>
public sealed class UserStore(NpgsqlDataSource db)
{
    public static Failure NotFound(Guid userId) => Failure.NotFound($"User {userId} not found");

    public static Failure AlreadyExists(Guid userId) => new(Errno.Conflict, $"User {userId} already exists");

    /// <summary>Inserts the user with its custom fields (a JSON object, or null).</summary>
    /// <param name="shared">The request's transaction to write in, if any.</param>
    /// <returns>False when the user already exists in the project (it is left unchanged).</returns>
    public async Task<bool> CreateAsync(string projectId, Guid userId, string? fieldsJson, RequestTransaction? shared, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO users (project_id, id, additional_fields) VALUES ($1, $2, $3)
            ON CONFLICT (project_id, id) DO NOTHING
            """, shared);
        cmd.Parameters.Add(new NpgsqlParameter { Value = projectId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = userId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)fieldsJson ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb });
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }
}
