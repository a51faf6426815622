using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Memobase.Server.Data;

public sealed class DatabaseOptions
{
    /// <summary>Npgsql connection string; set it with DATABASE_URL (postgres://…) or ConnectionStrings__Memobase.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations at start (safe with several replicas: see <see cref="DatabaseMigrator"/>).</summary>
    [ConfigurationKeyName("migrate_on_start")]
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>
    /// Upper bound of pooled connections per process; 0 (the default) = 4 × CPU cores, at least 8 and at most 64
    /// (<see cref="EffectiveMaxPoolSize"/>). Requests beyond it wait for a free connection in order, which is cheaper
    /// than PostgreSQL time-slicing more backends than it has cores: in the bench's pool-size sweep on 2 cores, 8
    /// connections instead of 64 took the capacity endpoint at 32 concurrent requests from p99 27–36 ms to 9–11 ms and
    /// inserts from p99 29–43 ms to 14–16 ms, with higher throughput (bench/README.md). Raise it when PostgreSQL has many more cores than this process
    /// or is far away (each request then holds its connection longer). The LISTEN connection and the migration lock use
    /// connections of their own outside this pool.
    /// </summary>
    [ConfigurationKeyName("db_max_pool_size")]
    [Range(0, 1000, ErrorMessage = "db_max_pool_size must be 0 (automatic) or between 2 and 1000.")]
    public int MaxPoolSize { get; set; }

    public int EffectiveMaxPoolSize => MaxPoolSize > 0 ? MaxPoolSize : Math.Clamp(4 * Environment.ProcessorCount, 8, 64);

    /// <summary>
    /// Statements each connection prepares automatically (Npgsql auto-prepare; 0 disables). The same few statements run
    /// on every request, so preparing them saves PostgreSQL a plan per statement (measured: inserts 1,420 → 2,576+/s,
    /// flush drain 167 → 226+ jobs/s; bench/README.md). Behind PgBouncer in transaction mode this needs PgBouncer ≥ 1.21,
    /// or set it to 0. An explicit "Max Auto Prepare" in the connection string wins.
    /// </summary>
    [ConfigurationKeyName("db_max_auto_prepare")]
    [Range(0, 1000)]
    public int MaxAutoPrepare { get; set; } = 64;

    /// <summary>
    /// Reset session state (DISCARD ALL / RESET ALL) whenever a connection goes back to the pool. The server sets no
    /// session state (no SET, temp tables or session locks; the LISTEN connection unlistens itself), so the default
    /// skips that extra statement per request (measured: PostgreSQL CPU per capacity request 0.198 → 0.150 ms).
    /// </summary>
    [ConfigurationKeyName("db_reset_on_close")]
    public bool ResetOnClose { get; set; }
}

public static class DatabaseSetup
{
    public static IServiceCollection AddMemobaseDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>()
            .BindConfiguration("Memobase")
            .Configure(o => o.ConnectionString = configuration.GetConnectionString("Memobase"))
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString),
                "No database configured: set DATABASE_URL (postgres://user:password@host:port/db) or ConnectionStrings__Memobase.")
            .Validate(o => o.MaxPoolSize != 1, "db_max_pool_size must be 0 (automatic) or between 2 and 1000.")
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddSingleton(sp => DataSource(sp, (o, cs) =>
        {
            cs.MaxPoolSize = o.EffectiveMaxPoolSize;
            if (cs.MaxAutoPrepare == 0) cs.MaxAutoPrepare = o.MaxAutoPrepare;
            if (!o.ResetOnClose) cs.NoResetOnClose = true;
        }));
        services.AddSingleton(sp => new DedicatedConnections(DataSource(sp, (_, cs) =>
        {
            cs.Pooling = false;
            cs.MaxAutoPrepare = 0;
            // The LISTEN connection idles for hours: a keepalive query every 30 s notices a dead peer, and the listener reconnects.
            if (cs.KeepAlive == 0) cs.KeepAlive = 30;
        })));
        services.AddDbContextPool<MemobaseDb>((sp, o) => MemobaseDb.Configure(o, sp.GetRequiredService<NpgsqlDataSource>()));
        services.AddHostedService<DatabaseMigrator>();
        return services;
    }

    private static NpgsqlDataSource DataSource(IServiceProvider sp, Action<DatabaseOptions, NpgsqlConnectionStringBuilder> configure)
    {
        var o = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value;
        var cs = new NpgsqlConnectionStringBuilder(o.ConnectionString);
        if (string.IsNullOrEmpty(cs.ApplicationName)) cs.ApplicationName = "memobase-server";
        configure(o, cs);
        var builder = new NpgsqlDataSourceBuilder(cs.ConnectionString);
        builder.UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
        return builder.Build();
    }
}

/// <summary>
/// Long-lived connections outside the pool (the LISTEN connection, the migration lock): they would otherwise take a
/// pooled connection away from requests for the life of the process, and a holder that also needs a pooled connection
/// could wait on itself when the pool is small.
/// </summary>
public sealed class DedicatedConnections(NpgsqlDataSource unpooled) : IDisposable, IAsyncDisposable
{
    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken ct) => unpooled.OpenConnectionAsync(ct);

    /// <summary>The connection string these connections use (password omitted).</summary>
    public string ConnectionString => unpooled.ConnectionString;

    public void Dispose() => unpooled.Dispose();

    public ValueTask DisposeAsync() => unpooled.DisposeAsync();
}

/// <summary>
/// Applies migrations before the worker and the HTTP server start (hosted services start in order). Replicas starting
/// together take turns through a PostgreSQL advisory lock held on a connection of its own: EF Core's own migration
/// locking did not stop two processes from applying the same migration (one then died on a duplicate
/// __EFMigrationsHistory key), so the pending check runs only once the lock is held. Neither the wait for the lock nor a
/// migration is bounded by the command timeout: a replica waits as long as another one's migration takes (a shutdown
/// still cancels the wait).
/// </summary>
public sealed partial class DatabaseMigrator(
    IServiceProvider services, DedicatedConnections dedicated, Microsoft.Extensions.Options.IOptions<DatabaseOptions> options, ILogger<DatabaseMigrator> logger)
    : IHostedService
{
    /// <summary>Advisory lock key of the migrator ("memobase" in ASCII).</summary>
    private const long LockKey = 0x6d656d6f62617365;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigrateOnStart) return;
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MemobaseDb>();
        db.Database.SetCommandTimeout(TimeSpan.Zero);
        var history = db.GetService<IHistoryRepository>();
        // Build EF's migration metadata now, in parallel with the other replicas, rather than one by one under the lock.
        _ = db.Database.GetMigrations();
        _ = history.GetCreateIfNotExistsScript();
        await using var lockConnection = await dedicated.OpenAsync(cancellationToken);
        // Every start but the first after an upgrade finds nothing to do, without waiting for the lock. The history
        // table is looked up in the catalog first: EF's own check reads the table and logs an error when it is missing.
        if (await HistoryTableExistsAsync(lockConnection, cancellationToken)
            && !(await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any()) return;

        if (!await LockAsync(lockConnection, "pg_try_advisory_lock", cancellationToken))
        {
            LogWaiting(logger);
            await LockAsync(lockConnection, "pg_advisory_lock", cancellationToken);
        }
        try
        {
            await history.CreateIfNotExistsAsync(cancellationToken);
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            if (pending.Count == 0) return;
            var names = string.Join(", ", pending);
            LogMigrating(logger, pending.Count, names);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await db.Database.MigrateAsync(cancellationToken);
            var elapsedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogMigrated(logger, pending.Count, elapsedMs);
        }
        finally
        {
            // Closing the unpooled connection ends the session, which releases the lock; say so explicitly anyway.
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task<bool> HistoryTableExistsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass('\"__EFMigrationsHistory\"') IS NOT NULL", connection);
        return await command.ExecuteScalarAsync(ct) is true;
    }

    private static async Task<bool> LockAsync(NpgsqlConnection connection, string function, CancellationToken ct)
    {
        // CommandTimeout 0: no limit. pg_advisory_lock returns void, which Npgsql reads as DBNull.
        await using var command = new NpgsqlCommand($"SELECT {function}({LockKey})", connection) { CommandTimeout = 0 };
        return await command.ExecuteScalarAsync(ct) is not false;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Applying {Count} database migration(s): {Migrations}")]
    private static partial void LogMigrating(ILogger logger, int count, string migrations);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Applied {Count} database migration(s) in {ElapsedMs:F0} ms")]
    private static partial void LogMigrated(ILogger logger, int count, double elapsedMs);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Another replica holds the migration lock; waiting for it")]
    private static partial void LogWaiting(ILogger logger);
}
