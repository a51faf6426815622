using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Serialization;
using Npgsql;
using Memobase.Server.Buffers;

namespace Memobase.Server.Processing;

public sealed record JobSummary(
    Guid Id, string ProjectId, Guid UserId, string BlobType, string Status, string Trigger, int Attempts, int MaxAttempts,
    int EntryCount, string? LastError, int? LastErrno, Guid? MergedInto, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

/// <param name="Calls">Each LLM and embedding call of the attempt: kind, stage, model, input/output tokens, duration_ms, outcome, started_at.</param>
public sealed record JobAttemptView(int Attempt, string Worker, string Outcome, string? Error, int LlmCalls, int PromptTokens, int CompletionTokens,
    DateTime StartedAt, DateTime? FinishedAt, JsonElement? Calls);

public sealed record JobDetail(
    JobSummary Job, int TruncatedCount, int LlmCalls, int PromptTokens, int CompletionTokens, int? LlmMs, int? ProcessingMs,
    string? LeaseOwner, DateTime? LeaseExpiresAt, DateTime RunAfter, JsonElement? Result, IReadOnlyDictionary<string, int> EntriesByStatus,
    IReadOnlyList<JobAttemptView> Attempts);

public sealed record JobPage(IReadOnlyList<JobSummary> Jobs, long Total);

/// <summary>One buffer entry attached to a job.</summary>

/// <summary>Queue figures for the operator overview.</summary>
public sealed record QueueStats(long Queued, long Running, long Failed, long DoneLastHour, long FailedLast24Hours);

/// <summary>A failed attempt, for the overview's list of recent failures.</summary>
public sealed record RecentFailure(Guid JobId, string ProjectId, Guid UserId, int Attempt, string Outcome, string? Error, DateTime At);

/// <summary>Read side of the flush queue for operators. A null project id means every project (root).</summary>
public sealed class JobReader(NpgsqlDataSource db)
{
    private const string JobColumns = """
        id, project_id, user_id, blob_type, status, trigger, attempts, max_attempts, entry_count, last_error, last_errno, merged_into,
        created_at, started_at, finished_at
        """;

    private const string ListFilter = """
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR user_id = $2) AND ($3::text IS NULL OR project_id = $3)
        """;

    public async Task<JobPage> ListAsync(string? projectId, string? status, Guid? userId, int limit, int offset, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        var list = new NpgsqlBatchCommand($"SELECT {JobColumns} FROM flush_jobs{ListFilter} ORDER BY created_at DESC, id LIMIT $4 OFFSET $5");
        AddFilter(list, projectId, status, userId);
        Sql.Add(list.Parameters, limit, offset);
        var count = new NpgsqlBatchCommand("SELECT count(*) FROM flush_jobs" + ListFilter);
        AddFilter(count, projectId, status, userId);
        batch.BatchCommands.Add(list);
        batch.BatchCommands.Add(count);

        var jobs = new List<JobSummary>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) jobs.Add(ReadJob(reader));
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return new JobPage(jobs, reader.GetInt64(0));
    }

    public async Task<JobSummary?> GetSummaryAsync(string? projectId, Guid jobId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, $"SELECT {JobColumns} FROM flush_jobs WHERE id = $1 AND ($2::text IS NULL OR project_id = $2)",
            jobId, Sql.Text(projectId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadJob(r) : null;
    }

    public async Task<JobDetail?> GetAsync(string? projectId, Guid jobId, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        JobDetail? detail = null;
        await using (var cmd = new NpgsqlCommand($"""
            SELECT {JobColumns}, truncated_count, llm_calls, prompt_tokens, completion_tokens, llm_ms, processing_ms,
                   lease_owner, lease_expires_at, run_after, result::text
            FROM flush_jobs WHERE id = $1 AND ($2::text IS NULL OR project_id = $2)
            """, conn))
        {
            Sql.Add(cmd.Parameters, jobId, Sql.Text(projectId));
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (await r.ReadAsync(ct))
            {
                detail = new JobDetail(ReadJob(r), r.GetInt32(15), r.GetInt32(16), r.GetInt32(17), r.GetInt32(18),
                    r.IsDBNull(19) ? null : r.GetInt32(19), r.IsDBNull(20) ? null : r.GetInt32(20),
                    r.IsDBNull(21) ? null : r.GetString(21), r.IsDBNull(22) ? null : r.GetDateTime(22), r.GetDateTime(23),
                    Json.Raw(r.IsDBNull(24) ? null : r.GetString(24)), new Dictionary<string, int>(), []);
            }
        }
        if (detail is null) return null;

        var entries = await BufferJobEntries.CountByStatusAsync(conn, jobId, ct);
        var attempts = new List<JobAttemptView>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT attempt, worker, outcome, error, llm_calls, prompt_tokens, completion_tokens, started_at, finished_at, llm_call_log::text
            FROM flush_job_attempts WHERE job_id = $1 ORDER BY attempt
            """, conn))
        {
            Sql.Add(cmd.Parameters, jobId);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                attempts.Add(new JobAttemptView(r.GetInt32(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                    r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetDateTime(7), r.IsDBNull(8) ? null : r.GetDateTime(8),
                    Json.Raw(r.IsDBNull(9) ? "[]" : r.GetString(9))));
            }
        }
        return detail with { EntriesByStatus = entries, Attempts = attempts };
    }

    /// <summary>
    /// The queue gauges' figures: job counts by project and status (queued, running, and failed in the last 24 h; at
    /// most 1,000 groups, largest first) and how long the oldest ready queued job has waited, in seconds (0: none).
    /// </summary>
    public async Task<(List<(string ProjectId, string Status, long Count)> Counts, double OldestReadySeconds)> GaugeCountsAsync(CancellationToken ct)
    {
        var counts = new List<(string, string, long)>();
        await using var conn = await db.OpenConnectionAsync(ct);
        await using (var cmd = new NpgsqlCommand("""
            SELECT project_id, status, count(*) FROM (
                SELECT project_id, status FROM flush_jobs WHERE status = 'queued'
                UNION ALL SELECT project_id, status FROM flush_jobs WHERE status = 'running'
                UNION ALL SELECT project_id, status FROM flush_jobs WHERE status = 'failed' AND created_at > now() - interval '24 hours'
            ) j GROUP BY project_id, status ORDER BY count(*) DESC LIMIT 1000
            """, conn))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) counts.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }
        await using var oldest = new NpgsqlCommand(
            "SELECT coalesce(extract(epoch FROM now() - min(run_after)), 0)::float8 FROM flush_jobs WHERE status = 'queued' AND run_after <= now()", conn);
        var seconds = (double)(await oldest.ExecuteScalarAsync(ct))!;
        return (counts, Math.Max(0, seconds));
    }

    public async Task<QueueStats> StatsAsync(string? projectId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT count(*) FILTER (WHERE status = 'queued'),
                   count(*) FILTER (WHERE status = 'running'),
                   count(*) FILTER (WHERE status = 'failed'),
                   count(*) FILTER (WHERE status = 'done' AND finished_at > now() - interval '1 hour'),
                   count(*) FILTER (WHERE status = 'failed' AND finished_at > now() - interval '24 hours')
            FROM flush_jobs
            WHERE ($1::text IS NULL OR project_id = $1)
              AND (status IN ('queued', 'running', 'failed') OR finished_at > now() - interval '1 hour')
            """, Sql.Text(projectId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return new QueueStats(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4));
    }

    /// <summary>Attempts that ended in failure (failed or expired) within the last 24 hours, newest first.</summary>
    public async Task<IReadOnlyList<RecentFailure>> RecentFailuresAsync(string? projectId, int limit, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            SELECT j.id, j.project_id, j.user_id, a.attempt, a.outcome, a.error, coalesce(a.finished_at, a.started_at)
            FROM flush_job_attempts a JOIN flush_jobs j ON j.id = a.job_id
            WHERE a.outcome IN ('failed', 'expired') AND coalesce(a.finished_at, a.started_at) > now() - interval '24 hours'
              AND ($1::text IS NULL OR j.project_id = $1)
            ORDER BY 7 DESC LIMIT $2
            """, Sql.Text(projectId), limit);
        var list = new List<RecentFailure>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new RecentFailure(r.GetGuid(0), r.GetString(1), r.GetGuid(2), r.GetInt32(3), r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.GetDateTime(6)));
        }
        return list;
    }

    private static void AddFilter(NpgsqlBatchCommand cmd, string? projectId, string? status, Guid? userId)
    {
        Sql.Add(cmd.Parameters, Sql.Text(status), Sql.Uuid(userId), Sql.Text(projectId));
    }

    private static JobSummary ReadJob(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetGuid(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6), r.GetInt32(7), r.GetInt32(8),
        r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetInt32(10), r.IsDBNull(11) ? null : r.GetGuid(11),
        r.GetDateTime(12), r.IsDBNull(13) ? null : r.GetDateTime(13), r.IsDBNull(14) ? null : r.GetDateTime(14));
}
