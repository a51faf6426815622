using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Serialization;
using Npgsql;

namespace Memobase.Server.Users;

/// <summary>A user as listings show them: its counts, and its custom fields when they were asked for.</summary>
public sealed record UserListing(string ProjectId, Guid Id, DateTime CreatedAt, DateTime UpdatedAt, long ProfileCount, long EventCount,
    JsonElement? AdditionalFields = null);

public sealed record UserListPage(IReadOnlyList<UserListing> Users, long Total);

/// <summary>What a listing is ordered by; the SQL column comes from this fixed set, never from request text.</summary>
public enum UserOrder
{
    UpdatedAt,
    ProfileCount,
    EventCount,
}

/// <summary>
/// A page of users. <paramref name="ProjectId"/> null means every project (root). <paramref name="Search"/> matches
/// a part of the id, case-insensitively.
/// </summary>
public sealed record UserQuery(string? ProjectId, string? Search, int Limit, int Offset,
    UserOrder OrderBy = UserOrder.UpdatedAt, bool Descending = true, bool WithFields = false);

/// <summary>
/// User listings for the project API and the operators' console: one statement for the rows (with profile and event
/// counts) and one for the total, in one round trip.
/// </summary>
public sealed class UserDirectory(NpgsqlDataSource db)
{
    private const string Columns = """
        u.project_id, u.id, u.created_at, u.updated_at,
        (SELECT count(*) FROM user_profiles p WHERE p.project_id = u.project_id AND p.user_id = u.id) AS profile_count,
        (SELECT count(*) FROM user_events e WHERE e.project_id = u.project_id AND e.user_id = u.id) AS event_count
        """;

    public async Task<UserListPage> ListAsync(UserQuery query, CancellationToken ct)
    {
        const string filter = "WHERE ($1::text IS NULL OR u.project_id = $1) AND strpos(u.id::text, $2) > 0";
        var order = query.OrderBy switch
        {
            UserOrder.ProfileCount => "profile_count",
            UserOrder.EventCount => "event_count",
            _ => "u.updated_at",
        };
        var direction = query.Descending ? "DESC" : "ASC";
        var fields = query.WithFields ? "u.additional_fields::text" : "NULL::text";
        await using var batch = db.CreateBatch();
        var list = new NpgsqlBatchCommand($"""
            SELECT {Columns}, {fields}
            FROM users u {filter}
            ORDER BY {order} {direction}, u.project_id, u.id LIMIT $3 OFFSET $4
            """);
        var count = new NpgsqlBatchCommand($"SELECT count(*) FROM users u {filter}");
        foreach (var cmd in new[] { list, count })
        {
            Sql.Add(cmd.Parameters, Sql.Text(query.ProjectId), (query.Search ?? "").Trim().ToLowerInvariant());
        }
        Sql.Add(list.Parameters, query.Limit, query.Offset);
        batch.BatchCommands.Add(list);
        batch.BatchCommands.Add(count);

        var users = new List<UserListing>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) users.Add(Read(reader));
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return new UserListPage(users, reader.GetInt64(0));
    }

    /// <summary>The projects that have a user with this id (one unless ids were chosen by clients), limited to one project when given.</summary>
    public async Task<List<UserListing>> FindAsync(string? projectId, Guid userId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, $"""
            SELECT {Columns}, NULL::text
            FROM users u WHERE u.id = $1 AND ($2::text IS NULL OR u.project_id = $2) ORDER BY u.project_id
            """, userId, Sql.Text(projectId));
        var users = new List<UserListing>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) users.Add(Read(reader));
        return users;
    }

    private static UserListing Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetGuid(1), reader.GetDateTime(2), reader.GetDateTime(3), reader.GetInt64(4), reader.GetInt64(5),
        Json.Raw(reader.IsDBNull(6) ? null : reader.GetString(6)));
}
