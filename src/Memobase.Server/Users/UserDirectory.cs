using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Users;

/// <summary>A user as operators list them.</summary>
public sealed record UserListing(string ProjectId, Guid Id, DateTime CreatedAt, DateTime UpdatedAt, long ProfileCount, long EventCount);

public sealed record UserListPage(IReadOnlyList<UserListing> Users, long Total);

/// <summary>User look-ups for operators. A null project id means every project (root).</summary>
public sealed class UserDirectory(NpgsqlDataSource db)
{
    /// <summary>Users whose id contains <paramref name="search"/> (case-insensitive), most recently updated first.</summary>
    public async Task<UserListPage> SearchAsync(string? projectId, string? search, int limit, int offset, CancellationToken ct)
    {
        const string filter = "WHERE ($1::text IS NULL OR u.project_id = $1) AND strpos(u.id::text, $2) > 0";
        await using var batch = db.CreateBatch();
        var list = new NpgsqlBatchCommand($"""
            SELECT u.project_id, u.id, u.created_at, u.updated_at,
                   (SELECT count(*) FROM user_profiles p WHERE p.project_id = u.project_id AND p.user_id = u.id),
                   (SELECT count(*) FROM user_events e WHERE e.project_id = u.project_id AND e.user_id = u.id)
            FROM users u {filter}
            ORDER BY u.updated_at DESC, u.project_id, u.id LIMIT $3 OFFSET $4
            """);
        var count = new NpgsqlBatchCommand($"SELECT count(*) FROM users u {filter}");
        foreach (var cmd in new[] { list, count })
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)projectId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (search ?? "").Trim().ToLowerInvariant() });
        }
        list.Parameters.Add(new NpgsqlParameter { Value = limit });
        list.Parameters.Add(new NpgsqlParameter { Value = offset });
        batch.BatchCommands.Add(list);
        batch.BatchCommands.Add(count);

        var users = new List<UserListing>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            users.Add(new UserListing(reader.GetString(0), reader.GetGuid(1), reader.GetDateTime(2), reader.GetDateTime(3), reader.GetInt64(4), reader.GetInt64(5)));
        }
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return new UserListPage(users, reader.GetInt64(0));
    }

    /// <summary>The projects that have a user with this id (one unless ids were chosen by clients), limited to one project when given.</summary>
    public async Task<List<UserListing>> FindAsync(string? projectId, Guid userId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT u.project_id, u.id, u.created_at, u.updated_at,
                   (SELECT count(*) FROM user_profiles p WHERE p.project_id = u.project_id AND p.user_id = u.id),
                   (SELECT count(*) FROM user_events e WHERE e.project_id = u.project_id AND e.user_id = u.id)
            FROM users u WHERE u.id = $1 AND ($2::text IS NULL OR u.project_id = $2) ORDER BY u.project_id
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = userId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)projectId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var users = new List<UserListing>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            users.Add(new UserListing(reader.GetString(0), reader.GetGuid(1), reader.GetDateTime(2), reader.GetDateTime(3), reader.GetInt64(4), reader.GetInt64(5)));
        }
        return users;
    }
}
