using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Webhooks;

/// <summary>A webhook endpoint as the API shows it. <see cref="Secret"/> is only set in the answers to create and rotate.</summary>
public sealed record WebhookInfo(Guid Id, string ProjectId, string Url, IReadOnlyList<string> Events, string? Description, bool Enabled,
    string? DisabledReason, int ConsecutiveFailures, DateTime CreatedAt, DateTime UpdatedAt, string? Secret = null);

/// <summary>One message to one endpoint; <see cref="Id"/> is the <c>webhook-id</c> the receiver saw.</summary>
public sealed record WebhookDeliveryInfo(string Id, Guid WebhookId, string EventType, Guid? UserId, string Status, int Attempts,
    int? LastStatusCode, string? LastError, DateTime NextAttemptAt, DateTime? DeliveredAt, DateTime CreatedAt, DateTime UpdatedAt, JsonElement? Payload);

/// <summary>A change to an endpoint: null fields stay as they are (an empty description clears it).</summary>
public sealed record WebhookChanges(string? Url, string[]? Events, string? Description, bool? Enabled);

/// <summary>Webhook endpoints of a project and their recent deliveries (scoped: uses the request's <see cref="MemobaseDb"/>).</summary>
public sealed class WebhookStore(MemobaseDb db, IOptionsMonitor<WebhookOptions> options)
{
    public const string DisabledThroughApi = "disabled through the API";

    private IQueryable<WebhookEndpoint> Endpoints(string projectId) => db.Set<WebhookEndpoint>().Where(e => e.ProjectId == projectId);

    public static Failure NotFound(Guid id) => Failure.NotFound($"Webhook {id} not found");

    /// <returns>The endpoint with its secret, or the reason it was not created (the project's limit).</returns>
    public async Task<(WebhookInfo? Created, Failure? Failure)> CreateAsync(string projectId, string url, string[] events, string? description,
        CancellationToken ct)
    {
        var limit = options.CurrentValue.MaxEndpointsPerProject;
        if (await Endpoints(projectId).CountAsync(ct) >= limit)
        {
            return (null, Failure.BadRequest($"Project {projectId} already has {limit} webhooks (webhook_max_endpoints_per_project)"));
        }
        var endpoint = new WebhookEndpoint
        {
            ProjectId = projectId,
            Id = Guid.NewGuid(),
            Url = url,
            Events = events,
            Description = string.IsNullOrEmpty(description) ? null : description,
            Secret = WebhookSigner.NewSecret(),
            Enabled = true,
        };
        db.Add(endpoint);
        await db.SaveChangesAsync(ct);
        db.Entry(endpoint).State = EntityState.Detached;
        return (Info(endpoint) with { Secret = endpoint.Secret }, null);
    }

    public async Task<IReadOnlyList<WebhookInfo>> ListAsync(string projectId, CancellationToken ct)
        => (await Endpoints(projectId).AsNoTracking().OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).ToListAsync(ct)).Select(e => Info(e)).ToList();

    public async Task<WebhookInfo?> GetAsync(string projectId, Guid id, CancellationToken ct)
        => await Endpoints(projectId).AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct) is { } e ? Info(e) : null;

    /// <summary>Applies the changes. Enabling resets the failure count and the disabled reason.</summary>
    public async Task<WebhookInfo?> UpdateAsync(string projectId, Guid id, WebhookChanges changes, CancellationToken ct)
    {
        var endpoint = await Endpoints(projectId).FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null) return null;
        if (changes.Url is not null) endpoint.Url = changes.Url;
        if (changes.Events is not null) endpoint.Events = changes.Events;
        if (changes.Description is not null) endpoint.Description = changes.Description.Length == 0 ? null : changes.Description;
        if (changes.Enabled is { } enabled && enabled != endpoint.Enabled)
        {
            endpoint.Enabled = enabled;
            endpoint.DisabledReason = enabled ? null : DisabledThroughApi;
            endpoint.ConsecutiveFailures = 0;
        }
        endpoint.UpdatedAt = DateTime.UtcNow;
        await db.SaveChangesAsync(ct);
        return Info(endpoint);
    }

    /// <summary>Deletes the endpoint and its deliveries (pending ones are never sent).</summary>
    public async Task<bool> DeleteAsync(string projectId, Guid id, CancellationToken ct)
        => await Endpoints(projectId).Where(e => e.Id == id).ExecuteDeleteAsync(ct) > 0;

    /// <summary>A new secret at once: later attempts, retries of earlier messages included, are signed with it.</summary>
    public async Task<WebhookInfo?> RotateSecretAsync(string projectId, Guid id, CancellationToken ct)
    {
        var endpoint = await Endpoints(projectId).FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null) return null;
        endpoint.Secret = WebhookSigner.NewSecret();
        endpoint.UpdatedAt = DateTime.UtcNow;
        await db.SaveChangesAsync(ct);
        return Info(endpoint) with { Secret = endpoint.Secret };
    }

    /// <summary>The endpoint's deliveries, newest first; null when the endpoint does not exist.</summary>
    public async Task<IReadOnlyList<WebhookDeliveryInfo>?> DeliveriesAsync(string projectId, Guid id, string? status, int limit, CancellationToken ct)
    {
        if (!await Endpoints(projectId).AnyAsync(e => e.Id == id, ct)) return null;
        return await RecentAsync(projectId, id, status, limit, ct);
    }

    /// <summary>The newest deliveries of all the project's endpoints (the console's view).</summary>
    public Task<IReadOnlyList<WebhookDeliveryInfo>> RecentDeliveriesAsync(string projectId, int limit, CancellationToken ct)
        => RecentAsync(projectId, null, null, limit, ct);

    private async Task<IReadOnlyList<WebhookDeliveryInfo>> RecentAsync(string projectId, Guid? endpointId, string? status, int limit, CancellationToken ct)
    {
        var rows = await db.Set<WebhookDelivery>().AsNoTracking()
            .Where(d => d.ProjectId == projectId && (endpointId == null || d.EndpointId == endpointId) && (status == null || d.Status == status))
            .OrderByDescending(d => d.Seq).Take(limit).ToListAsync(ct);
        return rows.Select(d => new WebhookDeliveryInfo(d.Id, d.EndpointId, d.EventType, d.UserId, d.Status, d.Attempts, d.LastStatusCode, d.LastError,
            d.NextAttemptAt, d.DeliveredAt, d.CreatedAt, d.UpdatedAt, Json.Raw(d.Payload))).ToList();
    }

    /// <summary>Queues a <c>webhook.test</c> message to this endpoint only (enabled or not: it goes out once the endpoint is enabled).</summary>
    /// <returns>The message's webhook-id, or null when the endpoint does not exist.</returns>
    public async Task<string?> SendTestAsync(string projectId, Guid id, CancellationToken ct)
    {
        if (!await Endpoints(projectId).AnyAsync(e => e.Id == id, ct)) return null;
        var messageId = "msg_" + Guid.NewGuid().ToString("N");
        var payload = WebhookOutbox.Payload(WebhookEvents.Test,
            new WebhookTestData(projectId, id, "Test message from the Memobase server: this endpoint receives its webhooks."));
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO webhook_deliveries (id, project_id, endpoint_id, event_type, payload) VALUES ({messageId}, {projectId}, {id}, {WebhookEvents.Test}, {payload}::jsonb)
            """, ct);
        await db.Database.ExecuteSqlAsync($"SELECT pg_notify({WebhookOutbox.NotifyChannel}, '')", ct);
        await tx.CommitAsync(ct);
        return messageId;
    }

    private static WebhookInfo Info(WebhookEndpoint e)
        => new(e.Id, e.ProjectId, e.Url, e.Events, e.Description, e.Enabled, e.DisabledReason, e.ConsecutiveFailures, e.CreatedAt, e.UpdatedAt);
}
