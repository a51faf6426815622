using System.Diagnostics;
using Memobase.Server.Data;
using Memobase.Server.Processing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Infrastructure;

namespace Memobase.Server.Observability;

/// <summary>Probe answers: <c>status</c> is <c>ok</c> or <c>failing</c>; each check says <c>ok</c>, <c>disabled</c> or why it failed.</summary>
public sealed record ProbeResult(string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary>
/// Kubernetes-style probes, no token: <c>GET /health/live</c> (the process answers) and <c>GET /health/ready</c>
/// (the database answers within 2 s, every migration is applied, and the worker's maintenance loop has ticked recently
/// when the worker is enabled). Ready answers HTTP 503 with the failing checks otherwise.
/// </summary>
public static class HealthEndpoints
{
    public static RouteGroupBuilder MapHealthProbes(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("health");
        group.MapGet("/live", Live)
            .WithName("health_live")
            .WithSummary("Liveness")
            .WithDescription("The process answers. No authentication.");
        group.MapGet("/ready", Ready)
            .WithName("health_ready")
            .WithSummary("Readiness")
            .WithDescription("The database answers, migrations are applied and the worker loop is alive (when enabled). " +
                             "No authentication. HTTP 503 with the failing checks otherwise.")
            .Produces<ProbeResult>(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    public static Ok<ProbeResult> Live() => TypedResults.Ok(new ProbeResult("ok", new Dictionary<string, string>()));

    public static async Task<Results<Ok<ProbeResult>, JsonHttpResult<ProbeResult>>> Ready(
        NpgsqlDataSource db, ReadinessState state, IServiceProvider services, FlushWorker worker, IOptionsMonitor<BackgroundWorkOptions> background,
        CancellationToken ct)
    {
        var checks = new Dictionary<string, string>();
        var database = await DatabaseProbe.CheckAsync(db, TimeSpan.FromSeconds(2), ct);
        checks["database"] = database ?? "ok";
        checks["migrations"] = database is not null ? "unknown (database unavailable)" : await state.CheckMigrationsAsync(services, ct) ?? "ok";
        checks["worker"] = background.CurrentValue.Enabled ? CheckWorker(worker, background.CurrentValue) ?? "ok" : "disabled";
        var ready = checks.Values.All(v => v is "ok" or "disabled");
        var result = new ProbeResult(ready ? "ok" : "failing", checks);
        return ready ? TypedResults.Ok(result) : TypedResults.Json(result, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static string? CheckWorker(FlushWorker worker, BackgroundWorkOptions options)
    {
        if (!worker.IsRunning) return "not started";
        if (worker.ExecuteTask is { IsCompleted: true }) return "stopped";
        var stale = TimeSpan.FromSeconds(Math.Max(30, 6 * options.MaintenanceSeconds));
        var since = Stopwatch.GetElapsedTime(worker.LastMaintenanceTick);
        return since > stale ? $"maintenance loop silent for {since.TotalSeconds:0} s" : null;
    }
}

/// <summary>Remembers that migrations were found applied (they cannot become pending again while the process runs).</summary>
public sealed class ReadinessState
{
    private volatile bool _migrationsApplied;

    public async Task<string?> CheckMigrationsAsync(IServiceProvider services, CancellationToken ct)
    {
        if (_migrationsApplied) return null;
        try
        {
            await using var scope = services.CreateAsyncScope();
            var pending = (await scope.ServiceProvider.GetRequiredService<MemobaseDb>().Database.GetPendingMigrationsAsync(ct)).ToList();
            if (pending.Count > 0) return $"{pending.Count} pending: {string.Join(", ", pending)}";
            _migrationsApplied = true;
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return "unknown: " + ex.Message;
        }
    }
}
