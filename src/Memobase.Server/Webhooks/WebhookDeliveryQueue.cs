using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Webhooks;

/// <summary>A delivery a worker claimed: its attempt number fences the result it records.</summary>
public sealed record ClaimedDelivery(string Id, string ProjectId, Guid EndpointId, string EventType, string Payload, int Attempt, string Url, string Secret);

/// <summary>
/// The outbox as a work queue, in PostgreSQL. A claim takes the oldest due pending delivery of an enabled endpoint
/// (<c>FOR UPDATE SKIP LOCKED</c>), counts the attempt and pushes <c>next_attempt_at</c> out by a lease, so a delivery
/// whose worker died is simply due again later. A delivery is not claimed while an older one of the same endpoint and
/// user is still pending: per endpoint, each user's messages go out in the order they were written.
/// </summary>
public sealed class WebhookDeliveryQueue(NpgsqlDataSource db)
{
    public async Task<ClaimedDelivery?> ClaimAsync(TimeSpan lease, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            WITH next AS (
                SELECT d.id FROM webhook_deliveries d
                JOIN webhook_endpoints e ON e.project_id = d.project_id AND e.id = d.endpoint_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o
                                  WHERE o.endpoint_id = d.endpoint_id AND o.status = 'pending' AND o.seq < d.seq
                                    AND (o.user_id = d.user_id OR (o.user_id IS NULL AND d.user_id IS NULL)))
                ORDER BY d.next_attempt_at, d.seq
                LIMIT 1
                FOR UPDATE OF d SKIP LOCKED)
            UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $1), updated_at = now()
            FROM next, webhook_endpoints e
            WHERE d.id = next.id AND e.project_id = d.project_id AND e.id = d.endpoint_id
            RETURNING d.id, d.project_id, d.endpoint_id, d.event_type, d.payload::text, d.attempts, e.url, e.secret
            """, lease.TotalSeconds);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new ClaimedDelivery(reader.GetString(0), reader.GetString(1), reader.GetGuid(2), reader.GetString(3), reader.GetString(4),
            reader.GetInt32(5), reader.GetString(6), reader.GetString(7));
    }

    /// <summary>Marks the delivery delivered and resets the endpoint's failure count.</summary>
    public async Task RecordSuccessAsync(ClaimedDelivery delivery, int statusCode, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            WITH d AS (
                UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status_code = $3, last_error = NULL, updated_at = now()
                WHERE id = $1 AND attempts = $2 AND status = 'pending'
                RETURNING project_id, endpoint_id)
            UPDATE webhook_endpoints e SET consecutive_failures = 0, updated_at = now()
            FROM d WHERE e.project_id = d.project_id AND e.id = d.endpoint_id AND e.consecutive_failures <> 0
            """, delivery.Id, delivery.Attempt, statusCode);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Schedules the next attempt after <paramref name="backoff"/>, or, when this was the last attempt, marks the delivery
    /// failed, counts it against the endpoint and disables the endpoint after <paramref name="disableAfter"/> failed
    /// deliveries in a row (0: never).
    /// </summary>
    /// <returns>Whether the delivery failed for good, and the reason the endpoint was disabled by this failure (if it was).</returns>
    public async Task<(bool FailedForGood, string? DisabledReason)> RecordFailureAsync(ClaimedDelivery delivery, int? statusCode, string error,
        int maxAttempts, TimeSpan backoff, int disableAfter, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var failed = delivery.Attempt >= maxAttempts;
        await using (var cmd = new NpgsqlCommand("""
            UPDATE webhook_deliveries SET status = CASE WHEN $3 THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => $4), last_status_code = $5, last_error = $6, updated_at = now()
            WHERE id = $1 AND attempts = $2 AND status = 'pending'
            """, conn, tx))
        {
            Sql.Add(cmd.Parameters, delivery.Id, delivery.Attempt, failed, backoff.TotalSeconds, Sql.Typed(statusCode, NpgsqlTypes.NpgsqlDbType.Integer), Truncate(error, 1000));
            if (await cmd.ExecuteNonQueryAsync(ct) == 0 || !failed)
            {
                await tx.CommitAsync(ct);
                return (false, null);
            }
        }
        string? disabled = null;
        await using (var cmd = new NpgsqlCommand("""
            UPDATE webhook_endpoints e SET consecutive_failures = e.consecutive_failures + 1, updated_at = now(),
                enabled = e.enabled AND NOT ($3 > 0 AND e.consecutive_failures + 1 >= $3),
                disabled_reason = CASE WHEN e.enabled AND $3 > 0 AND e.consecutive_failures + 1 >= $3 THEN $4 ELSE e.disabled_reason END
            WHERE e.project_id = $1 AND e.id = $2
            RETURNING NOT e.enabled AND e.disabled_reason = $4
            """, conn, tx))
        {
            var reason = $"disabled after {disableAfter} failed deliveries in a row; the last one: {Truncate(error, 300)}";
            Sql.Add(cmd.Parameters, delivery.ProjectId, delivery.EndpointId, disableAfter, reason);
            if (await cmd.ExecuteScalarAsync(ct) is true) disabled = reason;
        }
        await tx.CommitAsync(ct);
        return (true, disabled);
    }

    /// <summary>Gives a claimed attempt back (shutdown during a send): due again at once, the attempt not counted.</summary>
    public async Task ReleaseAsync(ClaimedDelivery delivery, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            UPDATE webhook_deliveries SET attempts = attempts - 1, next_attempt_at = now(), updated_at = now()
            WHERE id = $1 AND attempts = $2 AND status = 'pending'
            """, delivery.Id, delivery.Attempt);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Deletes delivered and failed deliveries last changed before <paramref name="olderThan"/> ago (at most 10,000 per call).</summary>
    public async Task<int> PurgeAsync(TimeSpan olderThan, CancellationToken ct)
    {
        await using var cmd = Sql.Command(db, """
            DELETE FROM webhook_deliveries WHERE id IN (
                SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < now() - make_interval(secs => $1) LIMIT 10000)
            """, olderThan.TotalSeconds);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
