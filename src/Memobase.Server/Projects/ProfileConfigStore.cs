using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Projects;

/// <summary>
/// The project's <c>profile_config</c> column: the YAML stored verbatim. The one reader and writer of that column;
/// Profiles validates and parses it, the flush pipeline and the context read it through here.
/// </summary>
public sealed class ProfileConfigStore(NpgsqlDataSource db)
{
    private const string Select = "SELECT profile_config FROM projects WHERE project_id = $1";

    /// <summary>The stored profile_config ("" when none).</summary>
    public async Task<string> GetAsync(string projectId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, Select, projectId);
        return await cmd.ExecuteScalarAsync(ct) as string ?? "";
    }

    /// <summary>The stored profile_config ("" when none), read on <paramref name="connection"/>.</summary>
    public static async Task<string> GetAsync(NpgsqlConnection connection, string projectId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(Select, connection);
        Sql.Add(cmd.Parameters, projectId);
        return await cmd.ExecuteScalarAsync(ct) as string ?? "";
    }

    /// <summary>Stores <paramref name="config"/> verbatim (null clears it); the caller has validated it.</summary>
    public async Task SetAsync(string projectId, string? config, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, "UPDATE projects SET profile_config = $2, updated_at = now() WHERE project_id = $1", projectId, config);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
