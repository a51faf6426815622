using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Whether this process runs the background work: the flush worker, webhook delivery and the purges of expired rows.
/// Off: this replica only serves HTTP and enqueues; another replica (or several) does the work.
/// </summary>
public sealed class BackgroundWorkOptions
{
    [ConfigurationKeyName("worker_enabled")]
    public bool Enabled { get; set; } = true;

    /// <summary>How often expired job leases are reclaimed, idle buffers are checked for the idle-time flush, and expired idempotency keys are purged.</summary>
    [ConfigurationKeyName("worker_maintenance_seconds")]
    [Range(0.05, 3600)]
    public double MaintenanceSeconds { get; set; } = 5;
}
