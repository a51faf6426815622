using Microsoft.EntityFrameworkCore;

namespace Memobase.Server.Data;

/// <summary>A project's webhook: where to POST which events, signed with <see cref="Secret"/>.</summary>
public sealed class WebhookEndpoint
{
    public required string ProjectId { get; set; }
    public Guid Id { get; set; }
    public required string Url { get; set; }
    public required string[] Events { get; set; }
    public string? Description { get; set; }
    /// <summary>The Standard Webhooks signing secret, <c>whsec_</c> + base64 of the key bytes.</summary>
    public required string Secret { get; set; }
    public bool Enabled { get; set; } = true;
    /// <summary>Why the endpoint is disabled (the delivery worker's reason, or "disabled through the API"); null while enabled.</summary>
    public string? DisabledReason { get; set; }
    /// <summary>Deliveries that failed for good in a row; reset by any successful delivery.</summary>
    public int ConsecutiveFailures { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// One message to one endpoint (the outbox row): written in the transaction that produced the event, delivered at least
/// once by <see cref="WebhookDeliveryWorker"/>. <see cref="Id"/> is the Standard Webhooks <c>webhook-id</c>.
/// </summary>
public sealed class WebhookDelivery
{
    public required string Id { get; set; }
    /// <summary>Insertion order: deliveries of one endpoint and user go out in this order.</summary>
    public long Seq { get; set; }
    public required string ProjectId { get; set; }
    public Guid EndpointId { get; set; }
    public required string EventType { get; set; }
    public Guid? UserId { get; set; }
    public required string Payload { get; set; }
    public string Status { get; set; } = WebhookDeliveryStatus.Pending;
    public int Attempts { get; set; }
    public DateTime NextAttemptAt { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public DateTime? DeliveredAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class WebhookDeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public static readonly string[] All = [Pending, Delivered, Failed];
}

/// <summary>The events an endpoint can subscribe to, and the test event sent on request.</summary>
public static class WebhookEvents
{
    public const string FlushCompleted = "flush.completed";
    public const string FlushFailed = "flush.failed";
    public const string UserDeleted = "user.deleted";
    /// <summary>Sent by <c>POST .../webhooks/{id}/test</c> to that endpoint only, whatever it subscribed to.</summary>
    public const string Test = "webhook.test";
    public static readonly string[] Subscribable = [FlushCompleted, FlushFailed, UserDeleted];
}

/// <summary>The webhook tables' part of the EF model (called from <c>MemobaseDb.OnModelCreating</c>).</summary>
public static class WebhookModel
{
    public const int MaxUrlLength = 2048;
    public const int MaxDescriptionLength = 500;

    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<WebhookEndpoint>(e =>
        {
            e.ToTable("webhook_endpoints");
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("webhook_endpoints_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(64);
            e.Property(x => x.Url).HasMaxLength(MaxUrlLength);
            e.Property(x => x.Events).HasColumnType("text[]");
            e.Property(x => x.Description).HasMaxLength(MaxDescriptionLength);
            e.Property(x => x.Secret).HasMaxLength(128);
            e.Property(x => x.ConsecutiveFailures).HasDefaultValue(0);
            e.Property(x => x.CreatedAt).HasDefaultValueSql("now()");
            e.Property(x => x.UpdatedAt).HasDefaultValueSql("now()");
            e.HasOne<Data.Project>().WithMany().HasForeignKey(x => x.ProjectId)
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("webhook_endpoints_project_id_fkey");
        });

        modelBuilder.Entity<WebhookDelivery>(e =>
        {
            e.HasKey(x => x.Id).HasName("webhook_deliveries_pkey");
            e.HasAlternateKey(x => x.Seq).HasName("ux_webhook_deliveries_seq");
            e.ToTable("webhook_deliveries", t => t.HasCheckConstraint("ck_webhook_deliveries_status", "status IN ('pending', 'delivered', 'failed')"));
            e.Property(x => x.Id).HasMaxLength(40);
            e.Property(x => x.Seq).UseIdentityByDefaultColumn();
            e.Property(x => x.ProjectId).HasMaxLength(64);
            e.Property(x => x.EventType).HasMaxLength(32);
            e.Property(x => x.Payload).HasColumnType("jsonb");
            e.Property(x => x.Status).HasMaxLength(16).HasDefaultValue(WebhookDeliveryStatus.Pending);
            e.Property(x => x.Attempts).HasDefaultValue(0);
            e.Property(x => x.NextAttemptAt).HasDefaultValueSql("now()");
            e.Property(x => x.CreatedAt).HasDefaultValueSql("now()");
            e.Property(x => x.UpdatedAt).HasDefaultValueSql("now()");
            // No foreign key to users: user.deleted outlives its user.
            e.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(x => new { x.ProjectId, x.EndpointId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("webhook_deliveries_project_id_endpoint_id_fkey");
            // the worker's claim: due pending rows
            e.HasIndex(x => x.NextAttemptAt, "ix_webhook_deliveries_due").HasDatabaseName("ix_webhook_deliveries_due").HasFilter("status = 'pending'");
            // per-(endpoint, user) ordering check: an older pending row of the same endpoint and user
            e.HasIndex(x => new { x.EndpointId, x.UserId, x.Seq }, "ix_webhook_deliveries_pending_order").HasDatabaseName("ix_webhook_deliveries_pending_order")
                .HasFilter("status = 'pending'");
            // recent deliveries of an endpoint, and the retention purge
            e.HasIndex(x => new { x.ProjectId, x.EndpointId, x.Seq }, "ix_webhook_deliveries_endpoint").HasDatabaseName("ix_webhook_deliveries_endpoint")
                .IsDescending(false, false, true);
            e.HasIndex(x => x.UpdatedAt, "ix_webhook_deliveries_finished").HasDatabaseName("ix_webhook_deliveries_finished").HasFilter("status <> 'pending'");
        });
    }
}
