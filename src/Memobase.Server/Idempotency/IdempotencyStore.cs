using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Idempotency;

/// <summary>A stored request: its hash and the response to replay.</summary>
public sealed record StoredRequest(string RequestHash, string Status, int ResponseStatus, string ResponseBody, Guid? JobId);

/// <summary>The <c>idempotency_keys</c> table (raw SQL: the claim needs <c>INSERT … ON CONFLICT</c>'s row locking).</summary>
public sealed class IdempotencyStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Claims the key in <paramref name="tx"/>: inserts it (or takes over an expired one) and returns null; the row stays
    /// locked until the transaction ends. When an unexpired row exists, returns it. A row that another transaction is
    /// writing makes this call wait until that transaction commits (then its row is returned) or rolls back (then the
    /// key is claimed here).
    /// </summary>
    public async Task<StoredRequest?> ClaimAsync(NpgsqlTransaction tx, string projectId, string key, string requestHash, TimeSpan retention,
        CancellationToken ct)
    {
        while (true)
        {
            await using (var claim = new NpgsqlCommand($"""
                INSERT INTO idempotency_keys (project_id, key, request_hash, status, response_status, response_body, expires_at)
                VALUES ($1, $2, $3, '{IdempotencyKeyStatus.Completed}', 0, '', now() + make_interval(secs => $4))
                ON CONFLICT (project_id, key) DO UPDATE
                    SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response_status = 0, response_body = '',
                        job_id = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
                    WHERE idempotency_keys.expires_at <= now()
                RETURNING 1
                """, tx.Connection, tx))
            {
                Sql.Add(claim.Parameters, projectId, key, requestHash, retention.TotalSeconds);
                if (await claim.ExecuteScalarAsync(ct) is not null) return null;
            }

            // ON CONFLICT locked the existing (committed, unexpired) row: read it.
            await using var read = new NpgsqlCommand("""
                SELECT request_hash, status, response_status, response_body, job_id FROM idempotency_keys WHERE project_id = $1 AND key = $2
                """, tx.Connection, tx);
            Sql.Add(read.Parameters, projectId, key);
            await using var reader = await read.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                return new StoredRequest(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetGuid(4));
            }
            // Deleted in between (its project was removed): claim again.
        }
    }

    /// <summary>Stores the response of the claimed key in <paramref name="tx"/>, the transaction that also holds the request's writes.</summary>
    public async Task CompleteAsync(NpgsqlTransaction tx, string projectId, string key, string status, int responseStatus, string responseBody,
        Guid? jobId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            UPDATE idempotency_keys SET status = $3, response_status = $4, response_body = $5, job_id = $6
            WHERE project_id = $1 AND key = $2
            """, tx.Connection, tx);
        Sql.Add(cmd.Parameters, projectId, key, status, responseStatus, responseBody, Sql.Uuid(jobId));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Replaces the response of a key that awaited its flush by the final one.</summary>
    public async Task FinishAsync(string projectId, string key, string responseBody, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, $"""
            UPDATE idempotency_keys SET status = '{IdempotencyKeyStatus.Completed}', response_body = $3
            WHERE project_id = $1 AND key = $2 AND status = '{IdempotencyKeyStatus.AwaitingFlush}'
            """, projectId, key, responseBody);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Deletes expired keys, at most 1000 per statement.</summary>
    /// <returns>How many were deleted.</returns>
    public async Task<int> PurgeExpiredAsync(CancellationToken ct)
    {
        var total = 0;
        while (true)
        {
            await using var cmd = db.CreateCommand("""
                DELETE FROM idempotency_keys
                WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT 1000 FOR UPDATE SKIP LOCKED))
                """);
            var deleted = await cmd.ExecuteNonQueryAsync(ct);
            total += deleted;
            if (deleted < 1000) return total;
        }
    }
}
