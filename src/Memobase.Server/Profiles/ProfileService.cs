using Memobase.Server.Infrastructure;
using Memobase.Server.Projects;
using Memobase.Server.Content;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Profiles;

/// <summary>Reading a user's profiles, shared by the REST API and the MCP tools (writes: <see cref="ProfileStore"/>).</summary>
public sealed class ProfileService(ProfileReader reader, ProfileFilter filter, UsageRecorder usage)
{
    public static Failure NotFound(Guid profileId, Guid userId) => Failure.NotFound($"Profile {profileId} not found for user {userId}");

    /// <summary>
    /// The user's profiles, newest first; with <paramref name="chats"/> an LLM first keeps the ones relevant to them (its
    /// tokens count as the project's usage; on LLM failure all are kept), then <paramref name="selection"/> applies.
    /// </summary>
    public async Task<List<StoredProfile>> GetAsync(string projectId, Guid userId, ProfileTruncation selection,
        IReadOnlyList<ChatMessage> chats, CancellationToken ct)
    {
        var profiles = await reader.LoadAsync(projectId, userId, ct);
        if (chats.Count > 0 && profiles.Count > 0)
        {
            using var project = LlmCallContext.ForProject(projectId);
            var filtered = await filter.FilterAsync(profiles.Select(p => p.ToExisting()).ToList(), chats, selection.OnlyTopics, ct);
            usage.RecordLlmTokens(projectId, filtered.Usage.PromptTokens, filtered.Usage.CompletionTokens);
            profiles = ProfileReader.KeepPicked(profiles, filtered.Profiles);
        }
        return selection.Apply(profiles);
    }
}
