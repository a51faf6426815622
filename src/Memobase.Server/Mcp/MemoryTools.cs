using System.ComponentModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Blobs;
using Memobase.Server.Buffers;
using Memobase.Server.Context;
using Memobase.Server.Events;
using Memobase.Server.Infrastructure;
using Memobase.Server.Profiles;
using Memobase.Server.Users;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Memobase.Server.Content;

namespace Memobase.Server.Mcp;

/// <summary>
/// The MCP tools. Each one validates its arguments, then calls the same feature service as the REST endpoint it mirrors;
/// business errors come back as tool errors carrying the REST API's <c>errmsg</c>.
/// </summary>
[McpServerToolType]
public static class MemoryTools
{
    private const string UserIdHelp =
        "The user's id (a UUID v4 or v5, as in the REST API). May be omitted when the connection sends the X-Memobase-User-Id header.";

    [McpServerTool(Name = "insert_chat", Title = "Remember a conversation", ReadOnly = false, Destructive = false, Idempotent = false,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(InsertChatResult))]
    [Description("Store chat messages in the user's long-term memory (one chat blob; the user is created if it does not exist yet). " +
                 "Messages collect in the user's buffer and are turned into profile entries and an event later: automatically once " +
                 "the buffer is large enough, or when flush_buffer is called. Returns the blob id.")]
    public static async Task<CallToolResult> InsertChat(
        [Description("The messages to remember, oldest first.")] McpChatMessage[] messages,
        IHttpContextAccessor http, UserStore users, BlobService blobs, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("When this insert makes the buffer large enough to be processed: wait for the processing and return its result (may take a while). Default false.")]
        bool wait = false)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);

        var blobData = JsonSerializer.SerializeToElement(new { messages }, McpJson.Options);
        await users.CreateAsync(caller.ProjectId, userId, null, null, ct);
        var outcome = await blobs.InsertAsync(caller, userId, BlobTypes.Chat, blobData, null, DateTimeOffset.UtcNow, wait, null, ct);
        if (outcome.Failure is { } failure) return Error(failure.Message);

        var text = new StringBuilder($"Stored {messages.Length} message(s) as chat blob {outcome.BlobId} for user {userId}.");
        foreach (var r in outcome.ChatResults) text.Append(' ').Append(Describe(r));
        return Ok(new InsertChatResult(outcome.BlobId, userId, outcome.ChatResults), text.ToString());
    }

    [McpServerTool(Name = "flush_buffer", Title = "Process pending chats into memory", ReadOnly = false, Destructive = false, Idempotent = false,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(FlushBufferResult))]
    [Description("Process the user's stored but not yet processed chats now: an LLM extracts profile entries and an event from them. " +
                 "With wait=true the call returns the result (event id, profile entries added/updated/deleted); otherwise it returns " +
                 "the id of the queued processing job.")]
    public static async Task<CallToolResult> FlushBuffer(
        IHttpContextAccessor http, IBufferFlusher flushes, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("Wait for the processing to finish and return its result. Default false.")] bool wait = false)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);

        var outcome = await flushes.FlushAsync(caller.ProjectId, userId, BlobTypes.Chat, FlushTrigger.Flush, wait, ct);
        if (outcome.Failure is { } failure) return Error(failure.Message);
        return outcome.Results switch
        {
            null => Ok(new FlushBufferResult("scheduled", outcome.JobId, []),
                $"Processing of user {userId}'s pending chats was queued as job {outcome.JobId}."),
            [] => Ok(new FlushBufferResult("empty", null, []), $"User {userId} has no unprocessed chats."),
            var results => Ok(new FlushBufferResult("done", null, results), string.Join(' ', results.Select(Describe))),
        };
    }

    [McpServerTool(Name = "get_context", Title = "Get the user's memory prompt", ReadOnly = true, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ContextData))]
    [Description("A ready-to-use memory section for a system prompt: what is known about the user (profile) and recent events, " +
                 "within a token budget. Call it at the start of a conversation to personalise answers.")]
    public static async Task<CallToolResult> GetContext(
        IHttpContextAccessor http, ContextBuilder builder, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("Maximum size of the context in tokens. Default 1000.")] int max_token_size = ContextRequest.DefaultMaxTokenSize,
        [Description("Profile topics to put first (e.g. [\"interest\", \"work\"]).")] string[]? prefer_topics = null,
        [Description("Only include profile entries of these topics.")] string[]? only_topics = null,
        [Description("The latest messages of the current conversation: events related to them are picked by semantic search instead of the newest ones.")]
        McpChatMessage[]? chats = null)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);

        var parsedChats = (IReadOnlyList<ChatMessage>)[];
        if (chats is { Length: > 0 })
        {
            var (content, parseError) = BlobParser.Parse(BlobTypes.Chat, JsonSerializer.SerializeToElement(new { messages = chats }, McpJson.Options));
            if (parseError is not null) return Error("chats" + (parseError.StartsWith("messages", StringComparison.Ordinal) ? parseError["messages".Length..] : ": " + parseError));
            parsedChats = ((ChatContent)content!).Messages;
        }
        var request = new ContextRequest(max_token_size, prefer_topics, only_topics, null, new Dictionary<string, int>(),
            ContextRequest.DefaultProfileEventRatio, parsedChats, ContextRequest.DefaultEventSimilarityThreshold, ContextRequest.DefaultTimeRangeInDays,
            null, ContextRequest.DefaultFullProfileAndOnlySearchEvent, false, false);
        var (data, failure) = await builder.BuildAsync(caller.ProjectId, userId, request, ct);
        return failure is not null ? Error(failure.Message) : Ok(data!, data!.Context);
    }

    [McpServerTool(Name = "get_profile", Title = "Get what is known about the user", ReadOnly = true, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ProfilesData))]
    [Description("The user's profile entries (facts such as basic_info::name or interest::sports), newest first, each with the id " +
                 "that update_profile and delete_profile take.")]
    public static async Task<CallToolResult> GetProfile(
        IHttpContextAccessor http, ProfileService profiles, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("Only entries of these topics (e.g. [\"basic_info\"]). Default: all.")] string[]? topics = null)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);

        var kept = await profiles.GetAsync(caller.ProjectId, userId, new ProfileTruncation(OnlyTopics: topics), [], ct);
        var text = kept.Count == 0
            ? $"User {userId} has no profile entries."
            : string.Join('\n', kept.Select(p => $"- {p.Line} (profile_id {p.Id})"));
        return Ok(new ProfilesData(kept.Select(p => p.ToData()).ToList()), text);
    }

    [McpServerTool(Name = "add_profile", Title = "Remember a fact about the user", ReadOnly = false, Destructive = false, Idempotent = false,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ProfileIdResult))]
    [Description("Add one profile entry (a fact about the user) directly, without LLM processing. Returns its profile_id.")]
    public static async Task<CallToolResult> AddProfile(
        [Description("Topic of the fact, e.g. \"basic_info\", \"interest\", \"work\".")] string topic,
        [Description("Sub-topic within the topic, e.g. \"name\", \"sports\", \"title\".")] string sub_topic,
        [Description("The fact itself, e.g. \"Plays tennis on weekends\".")] string content,
        IHttpContextAccessor http, ProfileStore profiles, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);

        var attributes = JsonSerializer.SerializeToElement(new JsonObject { ["topic"] = topic, ["sub_topic"] = sub_topic });
        var (id, failure) = await profiles.AddAsync(caller.ProjectId, userId, content, attributes, null, ct);
        return failure is not null
            ? Error(failure.Message)
            : Ok(new ProfileIdResult(id!.Value), $"Added profile entry {id} ({topic}::{sub_topic}: {content}) for user {userId}.");
    }

    [McpServerTool(Name = "update_profile", Title = "Correct a fact about the user", ReadOnly = false, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ProfileIdResult))]
    [Description("Replace the content of one profile entry (ids come from get_profile); optionally move it to another topic or sub-topic.")]
    public static async Task<CallToolResult> UpdateProfile(
        [Description("Id of the profile entry, from get_profile.")] string profile_id,
        [Description("The new content of the entry.")] string content,
        IHttpContextAccessor http, ProfileStore profiles, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("New topic. Default: unchanged.")] string? topic = null,
        [Description("New sub-topic. Default: unchanged.")] string? sub_topic = null)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);
        if (!Validation.TryParseUuid45(profile_id, out var profileId)) return Error("profile_id: Input should be a valid UUID version 4 or 5");

        var merge = new JsonObject();
        if (topic is not null) merge["topic"] = topic;
        if (sub_topic is not null) merge["sub_topic"] = sub_topic;
        var updated = await profiles.UpdateAsync(caller.ProjectId, userId, profileId, content, null, merge.Count > 0 ? merge.ToJsonString() : null, ct);
        return updated
            ? Ok(new ProfileIdResult(profileId), $"Updated profile entry {profileId} of user {userId}.")
            : Error(ProfileService.NotFound(profileId, userId).Message);
    }

    [McpServerTool(Name = "delete_profile", Title = "Forget a fact about the user", ReadOnly = false, Destructive = true, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(ProfileIdResult))]
    [Description("Forget one profile entry (ids come from get_profile). Use it when the user asks to forget something or a fact is wrong.")]
    public static async Task<CallToolResult> DeleteProfile(
        [Description("Id of the profile entry, from get_profile.")] string profile_id,
        IHttpContextAccessor http, ProfileStore profiles, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);
        if (!Validation.TryParseUuid45(profile_id, out var profileId)) return Error("profile_id: Input should be a valid UUID version 4 or 5");

        return await profiles.DeleteAsync(caller.ProjectId, userId, profileId, ct)
            ? Ok(new ProfileIdResult(profileId), $"Deleted profile entry {profileId} of user {userId}.")
            : Error(ProfileService.NotFound(profileId, userId).Message);
    }

    [McpServerTool(Name = "get_events", Title = "Get the user's recent events", ReadOnly = true, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(UserEventsData))]
    [Description("The user's most recent events (what happened in processed conversations, with the profile changes they caused) " +
                 "from the last 21 days, newest first.")]
    public static async Task<CallToolResult> GetEvents(
        IHttpContextAccessor http, EventService events, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("Maximum number of events. Default 10.")] int topk = EventService.DefaultTopK)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);
        if (topk < 0) return Error("topk: Input should be greater than or equal to 0");

        var data = await events.RecentAsync(caller.ProjectId, userId, topk, null, ct);
        return Ok(data, RenderEvents(data.Events, $"User {userId} has no events in the last {EventStore.RecentEventDays} days."));
    }

    [McpServerTool(Name = "search_events", Title = "Search the user's events", ReadOnly = true, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(UserEventsData))]
    [Description("Semantic search over the user's events of the last 180 days: the events most similar in meaning to the query, " +
                 "best first. Needs event embeddings to be enabled on the server (otherwise the tool reports that).")]
    public static async Task<CallToolResult> SearchEvents(
        [Description("What to look for, in natural language (e.g. \"trips abroad\").")] string query,
        IHttpContextAccessor http, EventService events, CancellationToken ct,
        [Description(UserIdHelp)] string? user_id = null,
        [Description("Maximum number of events. Default 10.")] int topk = EventService.DefaultTopK,
        [Description("Minimum cosine similarity (0 to 1) an event needs to be returned. Default 0.2.")]
        double similarity_threshold = EventService.DefaultSimilarityThreshold)
    {
        var scope = await ScopeAsync(http, user_id);
        if (scope.Error is not null) return scope.Error;
        var (caller, userId) = (scope.Caller!, scope.UserId);
        if (topk < 0) return Error("topk: Input should be greater than or equal to 0");

        var (data, failure) = await events.SearchEventsAsync(caller.ProjectId, userId, query, topk, similarity_threshold, EventService.DefaultSearchDays, ct);
        return failure is not null ? Error(failure.Message) : Ok(data!, RenderEvents(data!.Events, $"No event of user {userId} matches \"{query}\"."));
    }

    private sealed record Scope(Caller? Caller, Guid UserId, CallToolResult? Error);

    /// <summary>The caller's project and the user the call acts on; else the error result to return.</summary>
    private static async Task<Scope> ScopeAsync(IHttpContextAccessor http, string? userIdArgument)
    {
        var context = http.HttpContext;
        if (McpRequest.Caller(context) is not { } caller) return new Scope(null, Guid.Empty, Error("Unauthorized: no valid bearer token"));
        var (userId, message) = McpRequest.UserId(context, userIdArgument);
        return message is null ? new Scope(caller, userId, null) : new Scope(null, Guid.Empty, Error(message));
    }

    private static CallToolResult Ok<T>(T data, string text) => new()
    {
        Content = [new TextContentBlock { Text = text }],
        StructuredContent = JsonSerializer.SerializeToElement(data, McpJson.Options),
    };

    private static CallToolResult Error(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
    };

    private static string Describe(FlushResult r)
        => $"Processed into event {r.EventId}: {r.AddProfiles.Count} profile entries added, {r.UpdateProfiles.Count} updated, {r.DeleteProfiles.Count} deleted.";

    private static string RenderEvents(IReadOnlyList<UserEventData> events, string none)
    {
        if (events.Count == 0) return none;
        var sb = new StringBuilder();
        foreach (var e in events)
        {
            if (sb.Length > 0) sb.Append("\n\n");
            sb.Append('[').Append(e.CreatedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).Append(" UTC] event ").Append(e.Id);
            if (e.Similarity is { } s) sb.Append(CultureInfo.InvariantCulture, $" (similarity {s:0.00})");
            sb.Append('\n').Append(e.EventData.Text().Trim());
        }
        return sb.ToString();
    }
}
