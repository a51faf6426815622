using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace Memobase.Server.Profiles;

/// <summary>Upstream's ProfileData: <c>{id, content, created_at, updated_at, attributes}</c>.</summary>
public sealed record ProfileData(Guid Id, string Content, DateTime CreatedAt, DateTime UpdatedAt, JsonElement Attributes);

public sealed record ProfilesData(IReadOnlyList<ProfileData> Profiles);
