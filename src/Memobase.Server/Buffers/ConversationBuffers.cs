using System.Text.Json;
using System.Text.Json.Serialization;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Npgsql;
using Memobase.Server.Content;

namespace Memobase.Server.Buffers;

/// <summary>
/// Memind's <c>ConversationBufferView</c>: one buffered chat message. Our buffer holds blobs of several messages, so
/// the view id is <c>entry_seq × 10000 + message_index</c> (a chat blob holds at most 10000 messages).
/// <c>memoryId</c> is the user id (the memory the message feeds: that user's profile and events), <c>sessionId</c> the
/// chat blob id (one insert), <c>agentId</c> the project id.
/// </summary>
public sealed record ConversationBufferView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("sessionId")] string SessionId,
    [property: JsonPropertyName("userId")] string UserId,
    [property: JsonPropertyName("agentId")] string AgentId,
    [property: JsonPropertyName("memoryId")] string MemoryId,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("userName")] string? UserName,
    [property: JsonPropertyName("sourceClient")] string? SourceClient,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("extracted")] bool Extracted,
    [property: JsonPropertyName("createdAt")] DateTime CreatedAt,
    [property: JsonPropertyName("updatedAt")] DateTime UpdatedAt)
{
    /// <summary>The buffer entry's status behind <see cref="Extracted"/> (idle, processing, failed or done); not serialised.</summary>
    [JsonIgnore]
    public string EntryStatus { get; init; } = "";
}

/// <summary>Memind's <c>PageResult</c>: <c>total</c> counts the matching messages, <c>current</c> is the 1-based page.</summary>
public sealed record ConversationPage(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("list")] IReadOnlyList<ConversationBufferView> List,
    [property: JsonPropertyName("current")] int Current);

/// <summary>Filter of the conversation list. Null members do not filter.</summary>
/// <param name="State">pending (not yet extracted: idle, processing or failed), extracted (done) or all.</param>
public sealed record ConversationQuery(string? ProjectId, Guid? UserId, Guid? BlobId, string State, int Page, int PageSize);

/// <summary>What a mark-extracted or delete call changed: messages (all messages of the touched entries) and users.</summary>
public sealed record ConversationChange(int Messages, IReadOnlyList<string> UserIds);

/// <summary>
/// Buffered chat messages seen as Memind's conversation buffer. The unit of work is a buffer entry (one inserted chat
/// blob): marking or deleting any message of an entry marks or deletes the whole entry. Entries a flush job holds
/// (<c>processing</c>) are never changed here.
/// </summary>
public sealed class ConversationBuffers(NpgsqlDataSource db)
{
    public const long MessagesPerEntry = BlobParser.MaxChatMessages;
    public const string Pending = "pending";
    public const string Extracted = "extracted";
    public const string All = "all";
    public static readonly string[] States = [Pending, Extracted, All];

    private const string Select = """
        SELECT e.seq, m.idx - 1, e.project_id, e.user_id, e.blob_id, e.status, e.created_at, e.updated_at,
               m.msg::text, b.created_at, b.additional_fields ->> 'source_client'
        FROM buffer_entries e
        JOIN blobs b ON b.project_id = e.project_id AND b.id = e.blob_id
        CROSS JOIN LATERAL jsonb_array_elements(b.blob_data -> 'messages') WITH ORDINALITY AS m(msg, idx)
        """;

    private const string Filter = """
        WHERE e.blob_type = 'chat' AND ($1::text IS NULL OR e.project_id = $1) AND ($2::uuid IS NULL OR e.user_id = $2)
          AND ($3::uuid IS NULL OR e.blob_id = $3)
          AND ($4 = 'all' OR ($4 = 'extracted') = (e.status = 'done'))
        """;

    public async Task<ConversationBufferView?> GetAsync(string? projectId, long id, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, $"{Select}\nWHERE e.seq = $1 AND m.idx = $2 AND e.blob_type = 'chat' AND ($3::text IS NULL OR e.project_id = $3)",
            id / MessagesPerEntry, id % MessagesPerEntry + 1, Sql.Text(projectId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    /// <summary>Messages newest entry first (a blob's messages in their order), paged by message.</summary>
    public async Task<ConversationPage> ListAsync(ConversationQuery q, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        var list = new NpgsqlBatchCommand($"{Select}\n{Filter}\nORDER BY e.seq DESC, m.idx LIMIT $5 OFFSET $6");
        AddFilter(list, q);
        Sql.Add(list.Parameters, q.PageSize, (long)(q.Page - 1) * q.PageSize);
        var count = new NpgsqlBatchCommand($"""
            SELECT coalesce(sum(jsonb_array_length(b.blob_data -> 'messages')), 0)::bigint
            FROM buffer_entries e JOIN blobs b ON b.project_id = e.project_id AND b.id = e.blob_id
            {Filter}
            """);
        AddFilter(count, q);
        batch.BatchCommands.Add(list);
        batch.BatchCommands.Add(count);

        var items = new List<ConversationBufferView>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) items.Add(Read(reader));
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return new ConversationPage(reader.GetInt64(0), items, q.Page);
    }

    /// <summary>
    /// Marks the pending entries (idle or failed) holding these message ids as done without processing them: they are
    /// never fed to the LLM and their blobs are kept.
    /// </summary>
    public Task<ConversationChange> MarkExtractedAsync(string? projectId, IReadOnlyCollection<long> ids, CancellationToken ct)
        => ChangeAsync("""
            UPDATE buffer_entries e SET status = 'done', processed_at = now(), updated_at = now(), last_error = NULL
            FROM blobs b
            WHERE e.seq = ANY($1) AND e.blob_type = 'chat' AND e.status IN ('idle', 'failed') AND ($2::text IS NULL OR e.project_id = $2)
              AND b.project_id = e.project_id AND b.id = e.blob_id
            RETURNING e.user_id, jsonb_array_length(b.blob_data -> 'messages')
            """, projectId, ids, ct);

    /// <summary>Deletes the chat blobs (and with them their buffer entries) holding these message ids, unless a job holds them.</summary>
    public Task<ConversationChange> DeleteAsync(string? projectId, IReadOnlyCollection<long> ids, CancellationToken ct)
        => ChangeAsync("""
            DELETE FROM blobs b USING buffer_entries e
            WHERE e.seq = ANY($1) AND e.blob_type = 'chat' AND e.status <> 'processing' AND ($2::text IS NULL OR e.project_id = $2)
              AND b.project_id = e.project_id AND b.id = e.blob_id
            RETURNING b.user_id, jsonb_array_length(b.blob_data -> 'messages')
            """, projectId, ids, ct);

    private async Task<ConversationChange> ChangeAsync(string sql, string? projectId, IReadOnlyCollection<long> ids, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, sql, ids.Select(i => i / MessagesPerEntry).Distinct().ToArray(), Sql.Text(projectId));
        var messages = 0;
        var users = new SortedSet<string>(StringComparer.Ordinal);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            users.Add(reader.GetGuid(0).ToString());
            messages += reader.GetInt32(1);
        }
        return new ConversationChange(messages, [.. users]);
    }

    private static void AddFilter(NpgsqlBatchCommand cmd, ConversationQuery q)
    {
        Sql.Add(cmd.Parameters, Sql.Text(q.ProjectId), Sql.Uuid(q.UserId), Sql.Uuid(q.BlobId), Sql.Text(q.State));
    }

    private static ConversationBufferView Read(NpgsqlDataReader r)
    {
        var m = JsonSerializer.Deserialize<ChatMessage>(r.GetString(8), Json.Storage)!;
        var blobCreated = new DateTimeOffset(r.GetDateTime(9), TimeSpan.Zero);
        var status = r.GetString(5);
        return new ConversationBufferView(
            r.GetInt64(0) * MessagesPerEntry + r.GetInt64(1),
            SessionId: r.GetGuid(4).ToString(),
            UserId: r.GetGuid(3).ToString(),
            AgentId: r.GetString(2),
            MemoryId: r.GetGuid(3).ToString(),
            Role: m.Role,
            Content: m.Content,
            UserName: m.Alias,
            SourceClient: r.IsDBNull(10) ? null : r.GetString(10),
            Timestamp: Timestamps.TryParse(m.CreatedAt, out var at) ? at : blobCreated,
            Extracted: status == BufferStatus.Done,
            CreatedAt: r.GetDateTime(6),
            UpdatedAt: r.GetDateTime(7)) { EntryStatus = status };
    }
}
