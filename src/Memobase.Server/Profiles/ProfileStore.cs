using Npgsql;

namespace Memobase.Server.Profiles;

/// <summary>Single-profile writes shared by the API and the admin console.</summary>
public sealed class ProfileStore(NpgsqlDataSource db)
{
    /// <returns>False when the profile does not exist for that user.</returns>
    public async Task<bool> DeleteAsync(string projectId, Guid userId, Guid profileId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM user_profiles WHERE project_id = $1 AND user_id = $2 AND id = $3");
        cmd.Parameters.Add(new NpgsqlParameter { Value = projectId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = userId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = profileId });
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }
}
