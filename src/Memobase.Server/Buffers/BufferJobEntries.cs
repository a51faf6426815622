using Memobase.Server.Content;
using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Buffers;

/// <summary>
/// The buffer's side of a flush job: which entries a job holds and what becomes of them. Processing (the job queue)
/// calls these inside its own transactions, so a job transition and its entries change together. An entry is
/// <c>idle</c> until a flush attaches it to a job (<c>processing</c>), then <c>done</c> (or deleted with its blob) or
/// <c>failed</c> (retryable by the next flush).
/// </summary>
public static class BufferJobEntries
{
    /// <summary>Whether the buffer has entries a flush would take (idle, or failed by an earlier job).</summary>
    public static Task<bool> HasFlushableAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string projectId, Guid userId, string blobType,
        CancellationToken ct)
        => Sql.ScalarAsync<bool>(conn, tx, """
            SELECT EXISTS (SELECT 1 FROM buffer_entries WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status IN ('idle', 'failed'))
            """, ct, projectId, userId, blobType);

    /// <summary>Whether the buffer has idle entries.</summary>
    public static Task<bool> HasIdleAsync(NpgsqlConnection conn, string projectId, Guid userId, string blobType, CancellationToken ct)
        => Sql.ScalarAsync<bool>(conn, null,
            "SELECT EXISTS (SELECT 1 FROM buffer_entries WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status = 'idle')",
            ct, projectId, userId, blobType);

    /// <summary>Attaches the buffer's idle and failed entries to <paramref name="jobId"/>; returns how many.</summary>
    public static Task<int> AttachAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string projectId, Guid userId, string blobType, Guid jobId,
        CancellationToken ct)
        => Sql.ExecuteAsync(conn, tx, """
            UPDATE buffer_entries SET status = 'processing', job_id = $4, updated_at = now()
            WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status IN ('idle', 'failed')
            """, ct, projectId, userId, blobType, jobId);

    /// <summary>Counts one more processing attempt on the entries of these jobs.</summary>
    public static Task<int> CountAttemptAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid[] jobIds, CancellationToken ct)
        => Sql.ExecuteAsync(conn, tx, "UPDATE buffer_entries SET attempts = attempts + 1, updated_at = now() WHERE job_id = ANY($1) AND status = 'processing'",
            ct, jobIds);

    /// <summary>The job's entries with their blobs, oldest first (blobs whose stored content cannot be read are skipped).</summary>
    public static async Task<List<BufferedBlob>> LoadAsync(NpgsqlConnection conn, Guid jobId, CancellationToken ct)
    {
        var blobs = new List<BufferedBlob>();
        await using var cmd = Sql.Command(conn, null, """
            SELECT e.id, e.blob_id, e.blob_type, b.blob_data::text, b.created_at, e.token_size
            FROM buffer_entries e JOIN blobs b ON b.project_id = e.project_id AND b.id = e.blob_id
            WHERE e.job_id = $1 AND e.status = 'processing'
            ORDER BY e.seq
            """, jobId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var type = reader.GetString(2);
            var content = BlobParser.FromStored(type, reader.GetString(3));
            if (content is null) continue;
            blobs.Add(new BufferedBlob(reader.GetGuid(0), reader.GetGuid(1), type, content,
                new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero), reader.GetInt32(5)));
        }
        return blobs;
    }

    /// <summary>
    /// The statement that ends the job's entries as processed: with <paramref name="deleteBlobs"/> (upstream's default:
    /// processed chat blobs are not kept) their blobs are deleted, which cascades to the entries, so the entries are
    /// not first rewritten to 'done' (a non-HOT update touching every index of buffer_entries); otherwise they become
    /// <c>done</c>.
    /// </summary>
    public static NpgsqlBatchCommand CompleteCommand(Guid jobId, bool deleteBlobs) => deleteBlobs
        ? Sql.BatchCommand("""
            DELETE FROM blobs b USING buffer_entries e
            WHERE e.job_id = $1 AND e.status = 'processing' AND b.project_id = e.project_id AND b.id = e.blob_id
            """, jobId)
        : Sql.BatchCommand("""
            UPDATE buffer_entries SET status = 'done', processed_at = now(), updated_at = now(), last_error = NULL
            WHERE job_id = $1 AND status = 'processing'
            """, jobId);

    /// <summary>The job failed for good: its entries become <c>failed</c> with <paramref name="error"/> (the next flush retries them).</summary>
    public static Task<int> FailAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid jobId, string error, CancellationToken ct)
        => Sql.ExecuteAsync(conn, tx, """
            UPDATE buffer_entries SET status = 'failed', last_error = $2, updated_at = now() WHERE job_id = $1 AND status = 'processing'
            """, ct, jobId, error);

    /// <summary>An admin retry: the job's failed entries become its processing entries again; returns how many.</summary>
    public static Task<int> ReviveFailedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid jobId, CancellationToken ct)
        => Sql.ExecuteAsync(conn, tx, "UPDATE buffer_entries SET status = 'processing', updated_at = now() WHERE job_id = $1 AND status = 'failed'",
            ct, jobId);

    /// <summary>Moves the processing entries of job <paramref name="from"/> to job <paramref name="to"/> (the jobs are merged).</summary>
    public static Task<int> MoveAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid from, Guid to, CancellationToken ct)
        => Sql.ExecuteAsync(conn, tx, "UPDATE buffer_entries SET job_id = $1, updated_at = now() WHERE job_id = $2 AND status = 'processing'",
            ct, to, from);

    /// <summary>How many entries the job is processing.</summary>
    public static async Task<int> CountProcessingAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid jobId, CancellationToken ct)
        => (int)await Sql.ScalarAsync<long>(conn, tx, "SELECT count(*) FROM buffer_entries WHERE job_id = $1 AND status = 'processing'", ct, jobId);

    /// <summary>Buffers of <paramref name="blobTypes"/> whose newest idle entry is older than <paramref name="idleFor"/>.</summary>
    public static async Task<IReadOnlyList<(string ProjectId, Guid UserId, string BlobType)>> FindIdleAsync(NpgsqlConnection conn, string[] blobTypes,
        TimeSpan idleFor, int limit, CancellationToken ct)
    {
        var result = new List<(string, Guid, string)>();
        await using var cmd = Sql.Command(conn, null, """
            SELECT project_id, user_id, blob_type FROM buffer_entries
            WHERE status = 'idle' AND blob_type = ANY($1)
            GROUP BY project_id, user_id, blob_type
            HAVING max(created_at) < now() - make_interval(secs => $2)
            LIMIT $3
            """, blobTypes, idleFor.TotalSeconds, limit);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add((reader.GetString(0), reader.GetGuid(1), reader.GetString(2)));
        return result;
    }

    /// <summary>The job's entries by status.</summary>
    public static async Task<Dictionary<string, int>> CountByStatusAsync(NpgsqlConnection conn, Guid jobId, CancellationToken ct)
    {
        var entries = new Dictionary<string, int>();
        await using var cmd = Sql.Command(conn, null, "SELECT status, count(*)::int FROM buffer_entries WHERE job_id = $1 GROUP BY status", jobId);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) entries[r.GetString(0)] = r.GetInt32(1);
        return entries;
    }
}
