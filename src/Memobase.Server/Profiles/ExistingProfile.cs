namespace Memobase.Server.Profiles;

/// <summary>A stored profile row of the user, as the flush pipeline and the profile filter see it.</summary>
public sealed record ExistingProfile(Guid Id, string Topic, string SubTopic, string Content, string? AttributesJson, DateTime UpdatedAt);
