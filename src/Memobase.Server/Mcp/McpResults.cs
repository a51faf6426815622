using System.ComponentModel;
using System.Text.Json.Serialization;
using Memobase.Server.Buffers;

namespace Memobase.Server.Mcp;

/// <summary>One chat message given to <c>insert_chat</c> or <c>get_context</c> (upstream's OpenAI-compatible message).</summary>
public sealed record McpChatMessage(
    [property: Description("Who said it: \"user\" (the person whose memory this is) or \"assistant\".")] string Role,
    [property: Description("The message text.")] string Content,
    [property: Description("Optional display name of the speaker (e.g. the user's name or the assistant's persona).")] string? Alias = null,
    [property: JsonPropertyName("created_at"), Description("Optional time the message was sent, ISO 8601 (e.g. 2026-11-28T09:30:00Z); dates in memory refer to it.")]
    string? CreatedAt = null);

public sealed record InsertChatResult(
    [property: Description("Id of the stored chat blob.")] Guid BlobId,
    [property: Description("The user the chat was stored for.")] Guid UserId,
    [property: Description("Results of buffer processing this insert triggered and waited for (empty when none ran or wait was false).")]
    IReadOnlyList<FlushResult> ChatResults);

public sealed record FlushBufferResult(
    [property: Description("\"empty\": nothing was waiting; \"scheduled\": a processing job was queued (see job_id); \"done\": processing finished (see results).")]
    string Status,
    [property: Description("The queued processing job when status is \"scheduled\".")] Guid? JobId,
    [property: Description("When status is \"done\": the event created and the profile entries added, updated and deleted.")]
    IReadOnlyList<FlushResult> Results);

public sealed record ProfileIdResult([property: Description("Id of the profile entry.")] Guid ProfileId);
