using System.Text.Json;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Events;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Memobase.Server.Profiles;
using Memobase.Server.Webhooks;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Memobase.Server.Telemetry;
using Memobase.Server.Content;
using Memobase.Server.Llm;
using Memobase.Server.Projects;

namespace Memobase.Server.Processing;

/// <summary>
/// The flush queue, kept entirely in PostgreSQL. Invariants:
/// <list type="bullet">
/// <item>at most one <c>queued</c> and one <c>running</c> job per buffer (project, user, type) — unique partial indexes;</item>
/// <item>an entry belongs to exactly one job: it is attached by an UPDATE guarded by <c>status IN ('idle','failed')</c>;</item>
/// <item>every transition is one transaction; completion re-checks the lease (owner + attempt) under a row lock, so a
///   worker whose lease expired and was reclaimed can never write results twice.</item>
/// </list>
/// </summary>
public sealed partial class JobQueue(NpgsqlDataSource db, ProfileReader profileReader, IOptionsMonitor<WorkerOptions> options, ILogger<JobQueue> logger)
{
    public const string NotifyChannel = "memobase_flush_jobs";

    /// <param name="shared">
    /// A caller's transaction to enqueue in (under a savepoint; it commits the job together with its own writes), or null
    /// for a transaction of its own.
    /// </param>
    public async Task<EnqueueResult> EnqueueAsync(string projectId, Guid userId, string blobType, string trigger, NpgsqlTransaction? shared,
        CancellationToken ct)
    {
        for (var round = 0; ; round++)
        {
            try
            {
                if (shared is not null) return await EnqueueInAsync(shared, projectId, userId, blobType, trigger, ct);
                await using var conn = await db.OpenConnectionAsync(ct);
                await using var tx = await conn.BeginTransactionAsync(ct);
                return await TryEnqueueAsync(conn, tx, ownTransaction: true, projectId, userId, blobType, trigger, ct);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected && round < 5)
            {
                // A concurrent transition took the queued slot between our statements: start over.
            }
        }
    }

    private const string EnqueueSavepoint = "enqueue";

    private async Task<EnqueueResult> EnqueueInAsync(NpgsqlTransaction shared, string projectId, Guid userId, string blobType, string trigger, CancellationToken ct)
    {
        await shared.SaveAsync(EnqueueSavepoint, ct);
        try
        {
            return await TryEnqueueAsync(shared.Connection!, shared, ownTransaction: false, projectId, userId, blobType, trigger, ct);
        }
        catch (PostgresException)
        {
            await shared.RollbackAsync(EnqueueSavepoint, ct);
            throw;
        }
    }

    /// <summary>
    /// One try. With <paramref name="ownTransaction"/> the transaction is committed or rolled back here; otherwise the
    /// work since the savepoint is kept (released) or undone (rolled back to it) and the caller commits.
    /// </summary>
    private async Task<EnqueueResult> TryEnqueueAsync(NpgsqlConnection conn, NpgsqlTransaction tx, bool ownTransaction, string projectId, Guid userId,
        string blobType, string trigger, CancellationToken ct)
    {
        Task Commit() => ownTransaction ? tx.CommitAsync(ct) : tx.ReleaseAsync(EnqueueSavepoint, ct);
        Task Rollback() => ownTransaction ? tx.RollbackAsync(ct) : tx.RollbackAsync(EnqueueSavepoint, ct);

        Guid jobId;
        var created = false;
        while (true)
        {
            if (!await BufferJobEntries.HasFlushableAsync(conn, tx, projectId, userId, blobType, ct))
            {
                // Nothing to attach: report a queued or running job to wait on, if any.
                var active = await ActiveJobAsync(conn, tx, projectId, userId, blobType, ct);
                await Commit();
                return new EnqueueResult(null, false, active);
            }
            var candidate = Guid.NewGuid();
            var inserted = await Sql.ScalarAsync<Guid?>(conn, tx, """
                INSERT INTO flush_jobs (id, project_id, user_id, blob_type, status, trigger, max_attempts, trace_parent)
                VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7)
                ON CONFLICT (project_id, user_id, blob_type) WHERE status = 'queued' DO NOTHING
                RETURNING id
                """, ct, candidate, projectId, userId, blobType, trigger, options.CurrentValue.MaxAttempts, JobTelemetry.CurrentTraceParent());
            if (inserted is { } id)
            {
                jobId = id;
                created = true;
                break;
            }
            var existing = await Sql.ScalarAsync<Guid?>(conn, tx, """
                SELECT id FROM flush_jobs WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status = 'queued' FOR UPDATE
                """, ct, projectId, userId, blobType);
            if (existing is { } e)
            {
                jobId = e;
                break;
            }
            // The queued job was claimed between our two statements; try again.
        }

        var attached = await BufferJobEntries.AttachAsync(conn, tx, projectId, userId, blobType, jobId, ct);
        if (attached == 0)
        {
            if (created)
            {
                await Rollback();
                return new EnqueueResult(null, false, ownTransaction
                    ? await ActiveJobAsync(projectId, userId, blobType, ct)
                    : await ActiveJobAsync(conn, tx, projectId, userId, blobType, ct));
            }
            await Commit();
            return new EnqueueResult(null, false, jobId);
        }
        // The job's entry count and the wake-up of the workers, in one round trip.
        await using (var batch = new NpgsqlBatch(conn, tx))
        {
            batch.BatchCommands.Add(Sql.BatchCommand("UPDATE flush_jobs SET entry_count = entry_count + $2, updated_at = now() WHERE id = $1",
                jobId, attached));
            batch.BatchCommands.Add(Sql.BatchCommand($"SELECT pg_notify('{NotifyChannel}', $1)", jobId.ToString()));
            await batch.ExecuteNonQueryAsync(ct);
        }
        await Commit();
        MemobaseTelemetry.FlushesEnqueued.Add(1, new KeyValuePair<string, object?>("project_id", projectId), new KeyValuePair<string, object?>("trigger", trigger));
        return new EnqueueResult(jobId, true, null);
    }

    private async Task<Guid?> ActiveJobAsync(string projectId, Guid userId, string blobType, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await ActiveJobAsync(conn, null, projectId, userId, blobType, ct);
    }

    private static Task<Guid?> ActiveJobAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string projectId, Guid userId, string blobType, CancellationToken ct)
        => Sql.ScalarAsync<Guid?>(conn, tx, """
            SELECT id FROM flush_jobs WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status IN ('queued', 'running')
            ORDER BY (status = 'queued') DESC LIMIT 1
            """, ct, projectId, userId, blobType);

    public async Task<bool> HasIdleAsync(string projectId, Guid userId, string blobType, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await BufferJobEntries.HasIdleAsync(conn, projectId, userId, blobType, ct);
    }

    /// <summary>
    /// Claims up to <paramref name="max"/> of the oldest ready jobs whose buffers have no running job, and starts an
    /// attempt of each, in one short transaction. The jobs are of distinct buffers (a buffer has at most one queued job).
    /// </summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimBatchAsync(string owner, int max, CancellationToken ct)
    {
        try
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            var jobs = new List<ClaimedJob>();
            await using (var cmd = Sql.Command(conn, tx, """
                WITH next AS (
                    SELECT j.id FROM flush_jobs j
                    WHERE j.status = 'queued' AND j.run_after <= now()
                      AND NOT EXISTS (SELECT 1 FROM flush_jobs r
                                      WHERE r.project_id = j.project_id AND r.user_id = j.user_id
                                        AND r.blob_type = j.blob_type AND r.status = 'running')
                    ORDER BY j.run_after
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED)
                UPDATE flush_jobs j
                SET status = 'running', attempts = j.attempts + 1, lease_owner = $1,
                    lease_expires_at = now() + make_interval(secs => $2), started_at = coalesce(j.started_at, now()), updated_at = now()
                FROM next WHERE j.id = next.id
                RETURNING j.id, j.project_id, j.user_id, j.blob_type, j.attempts, j.trigger,
                    extract(epoch FROM now() - j.run_after)::float8, extract(epoch FROM now() - j.created_at)::float8, j.trace_parent
                """, owner, options.CurrentValue.LeaseSeconds, max))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    jobs.Add(new ClaimedJob(reader.GetGuid(0), reader.GetString(1), reader.GetGuid(2), reader.GetString(3), reader.GetInt32(4), reader.GetString(5),
                        TimeSpan.FromSeconds(Math.Max(0, reader.GetDouble(6))), TimeSpan.FromSeconds(Math.Max(0, reader.GetDouble(7))),
                        reader.IsDBNull(8) ? null : reader.GetString(8)));
                }
            }
            if (jobs.Count == 0) return jobs;
            var ids = jobs.Select(j => j.Id).ToArray();
            await Sql.ExecuteAsync(conn, tx, """
                INSERT INTO flush_job_attempts (job_id, attempt, worker, outcome, started_at)
                SELECT c.id, c.attempt, $3, 'running', now() FROM unnest($1::uuid[], $2::int[]) AS c(id, attempt)
                ON CONFLICT (job_id, attempt) DO UPDATE SET worker = EXCLUDED.worker, outcome = 'running', started_at = now(), finished_at = NULL, error = NULL;
                """, ct, ids, jobs.Select(j => j.Attempt).ToArray(), owner);
            await BufferJobEntries.CountAttemptAsync(conn, tx, ids, ct);
            await tx.CommitAsync(ct);
            foreach (var job in jobs)
            {
                MemobaseTelemetry.JobQueueWait.Record(job.QueueWait.TotalSeconds, new KeyValuePair<string, object?>("project_id", job.ProjectId));
            }
            return jobs;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return []; // another worker started a job of the same buffer at the same instant; it will be picked up later
        }
    }

    /// <summary>One heartbeat for every job this worker runs: renews the leases it still holds, in one statement.</summary>
    /// <returns>The (job, attempt) pairs whose lease was renewed; the others were lost.</returns>
    public async Task<IReadOnlySet<(Guid Id, int Attempt)>> RenewLeasesAsync(string owner, IReadOnlyCollection<(Guid Id, int Attempt)> jobs, CancellationToken ct)
    {
        var held = new HashSet<(Guid, int)>();
        if (jobs.Count == 0) return held;
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var cmd = Sql.Command(conn, null, """
            UPDATE flush_jobs j SET lease_expires_at = now() + make_interval(secs => $4), updated_at = now()
            FROM unnest($2::uuid[], $3::int[]) AS h(id, attempt)
            WHERE j.id = h.id AND j.attempts = h.attempt AND j.status = 'running' AND j.lease_owner = $1
            RETURNING j.id, j.attempts
            """, owner, jobs.Select(j => j.Id).ToArray(), jobs.Select(j => j.Attempt).ToArray(), options.CurrentValue.LeaseSeconds);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) held.Add((reader.GetGuid(0), reader.GetInt32(1)));
        return held;
    }

    public async Task<PipelineInput> LoadInputAsync(ClaimedJob job, CancellationToken ct)
    {
        var (blobs, config) = await LoadBlobsAndConfigAsync(job, ct);
        // After the connection above is back in the pool: holding one while waiting for another can deadlock a small pool.
        var profiles = (await profileReader.LoadAsync(job.ProjectId, job.UserId, ct)).Select(p => p.ToExisting()).ToList();
        return new PipelineInput(job.ProjectId, job.UserId, job.BlobType, blobs, config, profiles);
    }

    private async Task<(List<BufferedBlob> Blobs, string? Config)> LoadBlobsAndConfigAsync(ClaimedJob job, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var blobs = await BufferJobEntries.LoadAsync(conn, job.Id, ct);
        var config = await ProfileConfigStore.GetAsync(conn, job.ProjectId, ct);
        return (blobs, config);
    }

    /// <summary>
    /// Writes the run's profile changes and event, marks the entries done (deleting processed chat blobs unless they are
    /// persistent), the job done and its <c>flush.completed</c> webhook messages — all in one transaction, only if this
    /// worker still holds the lease.
    /// </summary>
    /// <returns>False when the lease was lost: nothing was written.</returns>
    public async Task<bool> CompleteAsync(ClaimedJob job, string owner, PipelineResult run, FlushResult result, bool deleteBlobs,
        int processingMs, IReadOnlyList<LlmCallRecord> calls, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var held = await Sql.ScalarAsync<int?>(conn, tx, """
            SELECT 1 FROM flush_jobs WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND attempts = $3 FOR UPDATE
            """, ct, job.Id, owner, job.Attempt) is not null;
        if (!held)
        {
            await tx.RollbackAsync(ct);
            return false;
        }

        await using var batch = new NpgsqlBatch(conn, tx);
        foreach (var command in ProfileWrites.Commands(job.ProjectId, job.UserId, run.Adds, run.Updates, run.Deletes)) batch.BatchCommands.Add(command);
        if (run.Event is { } ev)
        {
            foreach (var command in EventWrites.Commands(job.ProjectId, job.UserId, ev)) batch.BatchCommands.Add(command);
        }
        batch.BatchCommands.Add(BufferJobEntries.CompleteCommand(job.Id, deleteBlobs));
        batch.BatchCommands.Add(Sql.BatchCommand("""
            UPDATE flush_jobs SET status = 'done', finished_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                result = $2::jsonb, truncated_count = $3, llm_calls = llm_calls + $4, prompt_tokens = prompt_tokens + $5,
                completion_tokens = completion_tokens + $6, llm_ms = coalesce(llm_ms, 0) + $7, processing_ms = $8, last_error = NULL, last_errno = NULL
            WHERE id = $1
            """, job.Id, JsonSerializer.Serialize(result, Json.Storage), run.TruncatedCount, run.Usage.Calls, run.Usage.PromptTokens,
            run.Usage.CompletionTokens, run.Usage.ElapsedMs, processingMs));
        batch.BatchCommands.Add(Sql.BatchCommand("""
            UPDATE flush_job_attempts SET outcome = 'done', finished_at = now(), llm_calls = $3, prompt_tokens = $4, completion_tokens = $5,
                llm_call_log = $6::jsonb
            WHERE job_id = $1 AND attempt = $2
            """, job.Id, job.Attempt, run.Usage.Calls, run.Usage.PromptTokens, run.Usage.CompletionTokens, CallLogJson(calls)));
        batch.BatchCommands.Add(WebhookOutbox.Command(job.ProjectId, WebhookEvents.FlushCompleted, job.UserId, new FlushCompletedData(
            job.ProjectId, job.UserId, job.Id, job.BlobType, run.Event?.Id, run.Adds.Count, run.Updates.Count, run.Deletes.Count,
            run.Usage.PromptTokens, run.Usage.CompletionTokens, run.Usage.PromptTokens + run.Usage.CompletionTokens)));
        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// Ends an attempt that did not complete. Retryable failures with attempts left go back to <c>queued</c> after a
    /// backoff; otherwise the job and its entries become <c>failed</c> (entries stay retryable by the next flush). Either
    /// way the transaction writes a <c>flush.failed</c> webhook message. With <paramref name="countAttempt"/> false
    /// (graceful shutdown, or the provider's rate limit outlasted <c>llm_rate_limit_max_wait_seconds</c>) the attempt is
    /// given back, the job waits <paramref name="requeueAfter"/>, and no message is written.
    /// </summary>
    /// <returns>The job's new status, or null when this worker no longer held the lease.</returns>
    public async Task<string?> FailAttemptAsync(ClaimedJob job, string owner, int errno, string error, bool retryable, LlmUsage usage,
        bool countAttempt, IReadOnlyList<LlmCallRecord> calls, CancellationToken ct, TimeSpan? requeueAfter = null)
    {
        for (var round = 0; ; round++)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(ct);
                await using var tx = await conn.BeginTransactionAsync(ct);
                var held = await Sql.ScalarAsync<int?>(conn, tx, """
                    SELECT 1 FROM flush_jobs WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND attempts = $3 FOR UPDATE
                    """, ct, job.Id, owner, job.Attempt) is not null;
                if (!held)
                {
                    await tx.RollbackAsync(ct);
                    return null;
                }
                var outcome = countAttempt ? "failed" : requeueAfter is null ? JobTelemetry.Released : JobTelemetry.RateLimited;
                var status = await EndAttemptAsync(conn, tx, job.Id, job.Attempt, errno, error, retryable, usage, outcome, countAttempt,
                    CallLogJson(calls), ct, requeueAfter);
                await tx.CommitAsync(ct);
                return status;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected && round < 5)
            {
                // a flush created a queued job while we were merging: retry, it will be merged this time
            }
        }
    }

    /// <summary>Reclaims jobs whose lease expired (their worker died or hung): each is retried or failed.</summary>
    public async Task<int> ReapExpiredAsync(CancellationToken ct)
    {
        var reaped = 0;
        while (true)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(ct);
                await using var tx = await conn.BeginTransactionAsync(ct);
                (Guid Id, int Attempt, string? Owner)? expired = null;
                await using (var cmd = Sql.Command(conn, tx, """
                    SELECT id, attempts, lease_owner FROM flush_jobs
                    WHERE status = 'running' AND lease_expires_at < now()
                    ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED
                    """))
                await using (var reader = await cmd.ExecuteReaderAsync(ct))
                {
                    if (await reader.ReadAsync(ct)) expired = (reader.GetGuid(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                }
                if (expired is not { } e)
                {
                    await tx.CommitAsync(ct);
                    return reaped;
                }
                var status = await EndAttemptAsync(conn, tx, e.Id, e.Attempt, Errno.InternalServerError,
                    $"lease expired: worker {e.Owner} stopped renewing it (crashed or hung)", retryable: true, LlmUsage.None, "expired", countAttempt: true,
                    null, ct);
                await tx.CommitAsync(ct);
                MemobaseTelemetry.LeaseReclaims.Add(1);
                LogReaped(logger, e.Id, e.Owner, status);
                reaped++;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected)
            {
                // raced a flush creating a queued job; the next round merges it
            }
        }
    }

    private async Task<string> EndAttemptAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid jobId, int attempt, int errno, string error,
        bool retryable, LlmUsage usage, string outcome, bool countAttempt, string? callLogJson, CancellationToken ct, TimeSpan? requeueAfter = null)
    {
        var o = options.CurrentValue;
        error = StoredText.Sanitize(error);
        var (attempts, maxAttempts, projectId, userId, blobType) = await ReadAttemptsAsync(conn, tx, jobId, ct);
        var effective = countAttempt ? attempts : attempts - 1;
        string status;
        if (retryable && effective < maxAttempts)
        {
            var delay = countAttempt ? Math.Min(o.RetryMaxDelaySeconds, o.RetryBaseDelaySeconds * Math.Pow(2, Math.Max(0, effective - 1)))
                : requeueAfter?.TotalSeconds ?? 0;
            await MergeQueuedIntoAsync(conn, tx, jobId, ct);
            await Sql.ExecuteAsync(conn, tx, """
                UPDATE flush_jobs SET status = 'queued', attempts = $2, lease_owner = NULL, lease_expires_at = NULL,
                    run_after = now() + make_interval(secs => $3), last_error = $4, last_errno = $5, updated_at = now(),
                    llm_calls = llm_calls + $6, prompt_tokens = prompt_tokens + $7, completion_tokens = completion_tokens + $8
                WHERE id = $1
                """, ct, jobId, effective, delay, error, errno, usage.Calls, usage.PromptTokens, usage.CompletionTokens);
            status = JobStatus.Queued;
        }
        else
        {
            await Sql.ExecuteAsync(conn, tx, """
                UPDATE flush_jobs SET status = 'failed', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                    last_error = $2, last_errno = $3, updated_at = now(),
                    llm_calls = llm_calls + $4, prompt_tokens = prompt_tokens + $5, completion_tokens = completion_tokens + $6
                WHERE id = $1
                """, ct, jobId, error, errno, usage.Calls, usage.PromptTokens, usage.CompletionTokens);
            await BufferJobEntries.FailAsync(conn, tx, jobId, error, ct);
            status = JobStatus.Failed;
        }
        await Sql.ExecuteAsync(conn, tx, """
            UPDATE flush_job_attempts SET outcome = $3, error = $4, finished_at = now(), llm_calls = $5, prompt_tokens = $6, completion_tokens = $7,
                llm_call_log = $8::jsonb
            WHERE job_id = $1 AND attempt = $2
            """, ct, jobId, attempt, outcome, error, usage.Calls, usage.PromptTokens, usage.CompletionTokens, callLogJson);
        if (countAttempt)
        {
            await WebhookOutbox.WriteAsync(conn, tx, projectId, WebhookEvents.FlushFailed, userId,
                new FlushFailedData(projectId, userId, jobId, blobType, errno, error, effective, WillRetry: status == JobStatus.Queued), ct);
        }
        return status;
    }

    /// <summary>The attempt's LLM and embedding calls as stored in <c>flush_job_attempts.llm_call_log</c> (null: none).</summary>
    private static string? CallLogJson(IReadOnlyList<LlmCallRecord> calls) => calls.Count == 0 ? null : JsonSerializer.Serialize(calls, Json.Storage);

    /// <summary>Folds the buffer's queued job (if any) into <paramref name="jobId"/>, which is about to become queued itself.</summary>
    private static async Task MergeQueuedIntoAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid jobId, CancellationToken ct)
    {
        var other = await Sql.ScalarAsync<Guid?>(conn, tx, """
            SELECT q.id FROM flush_jobs q JOIN flush_jobs j ON j.project_id = q.project_id AND j.user_id = q.user_id AND j.blob_type = q.blob_type
            WHERE j.id = $1 AND q.status = 'queued' AND q.id <> $1
            FOR UPDATE OF q
            """, ct, jobId);
        if (other is not { } queued) return;
        await BufferJobEntries.MoveAsync(conn, tx, queued, jobId, ct);
        await Sql.ExecuteAsync(conn, tx, """
            UPDATE flush_jobs SET status = 'merged', merged_into = $1, finished_at = now(), updated_at = now() WHERE id = $2;
            """, ct, jobId, queued);
        await Sql.ExecuteAsync(conn, tx, "UPDATE flush_jobs SET entry_count = $2 WHERE id = $1",
            ct, jobId, await BufferJobEntries.CountProcessingAsync(conn, tx, jobId, ct));
    }

    private static async Task<(int Attempts, int MaxAttempts, string ProjectId, Guid UserId, string BlobType)> ReadAttemptsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, Guid jobId, CancellationToken ct)
    {
        await using var cmd = Sql.Command(conn, tx, "SELECT attempts, max_attempts, project_id, user_id, blob_type FROM flush_jobs WHERE id = $1", jobId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2), reader.GetGuid(3), reader.GetString(4));
    }

    /// <summary>Admin retry: a failed job goes back to the queue with its failed entries and a fresh attempt budget.</summary>
    /// <returns>Null on success, else the reason it cannot be retried.</returns>
    public async Task<Failure?> RetryFailedAsync(Guid jobId, CancellationToken ct)
    {
        for (var round = 0; ; round++)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(ct);
                await using var tx = await conn.BeginTransactionAsync(ct);
                var status = await Sql.ScalarAsync<string?>(conn, tx, "SELECT status FROM flush_jobs WHERE id = $1 FOR UPDATE", ct, jobId);
                if (status is null) return Failure.NotFound($"Flush job {jobId} not found");
                if (status != JobStatus.Failed) return new Failure(Errno.Conflict, $"Flush job {jobId} is {status}; only failed jobs can be retried");
                var entries = await BufferJobEntries.ReviveFailedAsync(conn, tx, jobId, ct);
                if (entries == 0)
                {
                    return new Failure(Errno.Conflict, $"Flush job {jobId} has no failed entries left (a later flush took them, or they were deleted)");
                }
                await MergeQueuedIntoAsync(conn, tx, jobId, ct);
                await Sql.ExecuteAsync(conn, tx, """
                    UPDATE flush_jobs SET status = 'queued', trigger = 'retry', max_attempts = attempts + $2, run_after = now(),
                        finished_at = NULL, updated_at = now(), entry_count = $3
                    WHERE id = $1
                    """, ct, jobId, options.CurrentValue.MaxAttempts, await BufferJobEntries.CountProcessingAsync(conn, tx, jobId, ct));
                await Sql.ExecuteAsync(conn, tx, $"SELECT pg_notify('{NotifyChannel}', $1)", ct, jobId.ToString());
                await tx.CommitAsync(ct);
                return null;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected && round < 5)
            {
            }
        }
    }

    public async Task<JobState?> GetStateAsync(Guid jobId, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var cmd = Sql.Command(conn, null, "SELECT status, result::text, last_error, last_errno, merged_into FROM flush_jobs WHERE id = $1", jobId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new JobState(jobId, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetGuid(4));
    }

    /// <summary>Buffers of processable types whose newest idle entry is older than <paramref name="idleFor"/>.</summary>
    public async Task<IReadOnlyList<(string ProjectId, Guid UserId, string BlobType)>> FindIdleBuffersAsync(TimeSpan idleFor, int limit, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await BufferJobEntries.FindIdleAsync(conn, BlobTypes.Processable, idleFor, limit, ct);
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Flush job {JobId}: lease of worker {Owner} expired; job is now {Status}")]
    private static partial void LogReaped(ILogger logger, Guid jobId, string? owner, string status);
}
