using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Npgsql;

namespace Memobase.Server.Webhooks;

/// <summary>The body of every webhook (Standard Webhooks' recommended shape): the event type, when it happened, its data.</summary>
public sealed record WebhookMessage<T>(string Type, DateTime Timestamp, T Data);

/// <param name="TokensUsed">Prompt plus completion tokens of the job's LLM calls, every attempt counted.</param>
public sealed record FlushCompletedData(string ProjectId, Guid UserId, Guid JobId, string BlobType, Guid? EventId,
    int ProfilesAdded, int ProfilesUpdated, int ProfilesDeleted, int PromptTokens, int CompletionTokens, int TokensUsed);

/// <param name="Attempts">Attempts the job has used so far.</param>
/// <param name="WillRetry">True when the job went back to the queue with a backoff; false when it failed for good.</param>
public sealed record FlushFailedData(string ProjectId, Guid UserId, Guid JobId, string BlobType, int Errno, string Error, int Attempts, bool WillRetry);

public sealed record UserDeletedData(string ProjectId, Guid UserId);

public sealed record WebhookTestData(string ProjectId, Guid WebhookId, string Message);

/// <summary>
/// Writes webhook messages into the outbox (<c>webhook_deliveries</c>) inside the caller's transaction: one row per
/// enabled endpoint of the project that subscribed to the event, so the message exists exactly when the change that
/// caused it committed. A NOTIFY in the same transaction wakes the delivery workers after the commit.
/// </summary>
public static class WebhookOutbox
{
    public const string NotifyChannel = "memobase_webhooks";

    private const string Insert = $"""
        WITH d AS (
            INSERT INTO webhook_deliveries (id, project_id, endpoint_id, event_type, user_id, payload)
            SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.project_id, e.id, $2, $3, $4
            FROM webhook_endpoints e WHERE e.project_id = $1 AND e.enabled AND $2 = ANY (e.events)
            ORDER BY e.id
            RETURNING 1)
        SELECT pg_notify('{NotifyChannel}', '') FROM (SELECT 1 FROM d LIMIT 1) AS any_row
        """;

    /// <summary>The outbox write as a command for the caller's batch.</summary>
    public static NpgsqlBatchCommand Command<T>(string projectId, string eventType, Guid? userId, T data)
        => Sql.BatchCommand(Insert, Arguments(projectId, eventType, userId, data));

    /// <summary>Writes the message on the caller's connection and transaction.</summary>
    public static Task WriteAsync<T>(NpgsqlConnection conn, NpgsqlTransaction tx, string projectId, string eventType, Guid? userId, T data,
        CancellationToken ct)
        => Sql.ExecuteAsync(conn, tx, Insert, ct, Arguments(projectId, eventType, userId, data));

    public static string Payload<T>(string eventType, T data)
        => Json.Serialize(new WebhookMessage<T>(eventType, DateTime.UtcNow, data));

    private static object?[] Arguments<T>(string projectId, string eventType, Guid? userId, T data)
        => [projectId, eventType, Sql.Uuid(userId), Sql.Jsonb(Payload(eventType, data))];
}
