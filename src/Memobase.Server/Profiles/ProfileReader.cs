using System.Globalization;
using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Serialization;
using Npgsql;

namespace Memobase.Server.Profiles;

/// <summary>One stored profile row; <see cref="Topic"/>/<see cref="SubTopic"/> are read from its attributes (null when absent).</summary>
public sealed record StoredProfile(Guid Id, string Content, string? Topic, string? SubTopic, string? AttributesJson, DateTime CreatedAt, DateTime UpdatedAt)
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    public ProfileData ToData() => new(Id, Content, CreatedAt, UpdatedAt, Json.Raw(AttributesJson) ?? EmptyObject);

    /// <summary>The shape <see cref="ProfileFilter"/> works on.</summary>
    public ExistingProfile ToExisting() => new(Id, Topic ?? "", SubTopic ?? "", Content, AttributesJson, UpdatedAt);

    /// <summary>
    /// <c>topic::sub_topic: content</c>: what the token budget counts and what the context's profile section lists
    /// (a missing attribute prints as Python's <c>None</c>, as upstream's f-string does).
    /// </summary>
    public string Line => $"{Topic ?? "None"}::{SubTopic ?? "None"}: {Content}";
}

/// <summary>Reads a user's profiles (newest first) with one indexed query.</summary>
public sealed class ProfileReader(NpgsqlDataSource db)
{
    public async Task<List<StoredProfile>> LoadAsync(string projectId, Guid userId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT id, content,
                   CASE WHEN jsonb_typeof(attributes -> 'topic') = 'string' THEN attributes ->> 'topic' END,
                   CASE WHEN jsonb_typeof(attributes -> 'sub_topic') = 'string' THEN attributes ->> 'sub_topic' END,
                   attributes::text, created_at, updated_at
            FROM user_profiles WHERE project_id = $1 AND user_id = $2
            ORDER BY updated_at DESC, id
            """, projectId, userId);
        var result = new List<StoredProfile>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(new StoredProfile(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetDateTime(5),
                reader.GetDateTime(6)));
        }
        return result;
    }

    /// <summary>Keeps the profiles <see cref="ProfileFilter"/> picked; a failed filter (null) keeps them all.</summary>
    public static List<StoredProfile> KeepPicked(List<StoredProfile> profiles, IReadOnlyList<ExistingProfile>? picked)
    {
        if (picked is null) return profiles;
        var ids = picked.Select(p => p.Id).ToHashSet();
        return profiles.Where(p => ids.Contains(p.Id)).ToList();
    }
}
