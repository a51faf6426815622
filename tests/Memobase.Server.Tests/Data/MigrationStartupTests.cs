using Memobase.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Memobase.Server.Tests.Data;

/// <summary>Real server processes starting together on an empty database while the migration is slow.</summary>
public sealed class MigrationStartupTests : IAsyncLifetime
{
    private const string Token = "migration-startup-root";
    private const int Replicas = 6;
    private string _db = "";

    public async Task InitializeAsync() => _db = await TestPostgres.CreateDatabaseAsync("mig");

    public Task DisposeAsync() => TestPostgres.DropDatabaseAsync(_db);

    [Fact]
    public async Task Six_replicas_wait_out_a_migration_slower_than_the_command_timeout_and_all_come_up()
    {
        // The migration is made slow from outside: an open transaction that has created a table named "projects" makes
        // the migration's own CREATE TABLE projects wait until that transaction ends.
        await using var blocker = new NpgsqlConnection(_db);
        await blocker.OpenAsync();
        await using var blockTx = await blocker.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand("CREATE TABLE projects (blocker int)", blocker, blockTx))
        {
            await create.ExecuteNonQueryAsync();
        }

        var replicas = Enumerable.Range(0, Replicas).Select(_ => ServerProcess.Start(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
            ["ACCESS_TOKEN"] = Token,
            ["MEMOBASE_WORKER_ENABLED"] = "false",
            ["Serilog__MinimumLevel"] = "Information",
        })).ToList();
        try
        {
            // One replica migrates and is blocked on CREATE TABLE projects; the other five wait either for the advisory lock
            // or, when they came after the migration started, for EF's lock on __EFMigrationsHistory.
            await LlmApp.Eventually(async () =>
                await CountAsync("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%CREATE TABLE projects%'") == 1
                && await CountAsync("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'memobase-server'") == Replicas,
                300, "the replicas never all reached the migration");
            // Longer than Npgsql's default command timeout (30 s), which used to end the waiting replicas.
            await Task.Delay(TimeSpan.FromSeconds(35));
            Assert.All(replicas, r => Assert.False(r.HasExited, r.Output));
            await blockTx.RollbackAsync();

            await Task.WhenAll(replicas.Select(r => r.WaitHealthyAsync(TimeSpan.FromMinutes(5))));
            using var model = SchemaTests.OfflineContext();
            Assert.Equal((long)model.Database.GetMigrations().Count(), await CountAsync("SELECT count(*) FROM \"__EFMigrationsHistory\""));
            var applying = $"Applying {model.Database.GetMigrations().Count()} database migration(s)";
            Assert.Equal(1, replicas.Count(r => r.Output.Contains(applying, StringComparison.Ordinal)));
            Assert.All(replicas, r => Assert.DoesNotContain(" ERR] ", r.Output, StringComparison.Ordinal));
            foreach (var r in replicas) await r.Client(Token).CreateUserAsync();
        }
        finally
        {
            foreach (var r in replicas) await r.DisposeAsync();
        }
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(_db);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
