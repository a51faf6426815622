using Memobase.Server.Content;
using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Buffers;

/// <summary>One buffer entry as operators see it.</summary>
public sealed record BufferEntryRow(long Seq, Guid BlobId, string BlobType, string Status, int TokenSize, Guid? JobId, int Attempts,
    string? LastError, DateTime CreatedAt);

/// <summary>One buffer entry of a flush job, as operators see it.</summary>
public sealed record JobEntry(long Seq, Guid BlobId, string BlobType, string Status, int TokenSize, int Attempts, string? LastError, DateTime CreatedAt);

/// <summary>A user's buffer: entry counts by status and the newest entries.</summary>
public sealed record UserBuffer(IReadOnlyDictionary<string, int> CountsByStatus, IReadOnlyList<BufferEntryRow> Recent);

/// <summary>Reads a user's buffer entries for the admin console.</summary>
public sealed class BufferEntryReader(NpgsqlDataSource db)
{
    /// <summary>The ids of a user's buffer entries of one type in one status, oldest first (the capacity endpoint).</summary>
    public async Task<List<Guid>> IdsAsync(string projectId, Guid userId, string blobType, string status, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT id FROM buffer_entries WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status = $4 ORDER BY seq
            """, projectId, userId, blobType, status);
        var ids = new List<Guid>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetGuid(0));
        return ids;
    }

    public async Task<UserBuffer> OfUserAsync(string projectId, Guid userId, int limit, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        var counts = new NpgsqlBatchCommand("""
            SELECT status, count(*)::int FROM buffer_entries WHERE project_id = $1 AND user_id = $2 GROUP BY status
            """);
        var recent = new NpgsqlBatchCommand("""
            SELECT seq, blob_id, blob_type, status, token_size, job_id, attempts, last_error, created_at
            FROM buffer_entries WHERE project_id = $1 AND user_id = $2 ORDER BY seq DESC LIMIT $3
            """);
        foreach (var cmd in new[] { counts, recent })
        {
            Sql.Add(cmd.Parameters, projectId, userId);
        }
        Sql.Add(recent.Parameters, limit);
        batch.BatchCommands.Add(counts);
        batch.BatchCommands.Add(recent);

        var byStatus = new Dictionary<string, int>();
        var rows = new List<BufferEntryRow>();
        await using var r = await batch.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) byStatus[r.GetString(0)] = r.GetInt32(1);
        await r.NextResultAsync(ct);
        while (await r.ReadAsync(ct))
        {
            rows.Add(new BufferEntryRow(r.GetInt64(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt32(4),
                r.IsDBNull(5) ? null : r.GetGuid(5), r.GetInt32(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetDateTime(8)));
        }
        return new UserBuffer(byStatus, rows);
    }

    /// <summary>The buffer entries attached to a job, oldest first (at most 500).</summary>
    public async Task<IReadOnlyList<JobEntry>> JobEntriesAsync(Guid jobId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT seq, blob_id, blob_type, status, token_size, attempts, last_error, created_at
            FROM buffer_entries WHERE job_id = $1 ORDER BY seq LIMIT 500
            """, jobId);
        var list = new List<JobEntry>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new JobEntry(r.GetInt64(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.GetDateTime(7)));
        }
        return list;
    }

    /// <summary>
    /// The user's newest not yet processed chat blobs (idle, being processed, or failed), newest first, at most
    /// <paramref name="limit"/>: what the context's recent-chats section is built from.
    /// </summary>
    public async Task<List<(ChatContent Chat, DateTimeOffset CreatedAt)>> UnprocessedChatsAsync(string projectId, Guid userId, int limit,
        CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT b.blob_data::text, b.created_at
            FROM buffer_entries e JOIN blobs b ON b.project_id = e.project_id AND b.id = e.blob_id
            WHERE e.project_id = $1 AND e.user_id = $2 AND e.blob_type = 'chat' AND e.status IN ('idle', 'processing', 'failed')
            ORDER BY e.seq DESC
            LIMIT $3
            """, projectId, userId, limit);
        var chats = new List<(ChatContent, DateTimeOffset)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (BlobParser.FromStored(BlobTypes.Chat, reader.GetString(0)) is ChatContent chat)
            {
                chats.Add((chat, new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero)));
            }
        }
        return chats;
    }
}
