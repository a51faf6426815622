using System.Diagnostics;
using Memobase.Server.Tests.Data;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Buffers;

/// <summary>Real server processes on one database: a worker killed mid-job, and two replicas draining together.</summary>
public sealed class MultiProcessTests : IAsyncLifetime
{
    private const string Token = "multi-process-root";
    private string _db = "";
    private FakeOpenAiServer _fake = null!;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("mp");
        _fake = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _fake.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(_db);
    }

    private ServerProcess Start(string leaseSeconds = "2") => ServerProcess.Start(new Dictionary<string, string?>
    {
        ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
        ["ACCESS_TOKEN"] = Token,
        ["MEMOBASE_LLM_BASE_URL"] = _fake.BaseUrl,
        ["MEMOBASE_LLM_API_KEY"] = "test-key",
        ["MEMOBASE_LLM_TIMEOUT_SECONDS"] = "120",
        ["MEMOBASE_JOB_LEASE_SECONDS"] = leaseSeconds,
        ["MEMOBASE_WORKER_POLL_SECONDS"] = "0.2",
        ["MEMOBASE_WORKER_MAINTENANCE_SECONDS"] = "0.3",
        ["MEMOBASE_WORKER_CONCURRENCY"] = "4",
        ["MEMOBASE_PERSISTENT_CHAT_BLOBS"] = "true",
        ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "false",
        ["MEMOBASE_USE_TIMEZONE"] = "UTC",
        ["Serilog__MinimumLevel"] = "Warning",
    });

    private async Task<T> Scalar<T>(string sql, params object[] args)
    {
        await using var conn = new NpgsqlConnection(_db);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Replicas_starting_together_on_an_empty_database_all_come_up_and_migrate_once()
    {
        var replicas = Enumerable.Range(0, 6).Select(_ => Start()).ToList();
        try
        {
            // Six processes starting at once on a shared 2-core machine took over 3 minutes to get through start-up at a load average of 80.
            await Task.WhenAll(replicas.Select(r => r.WaitHealthyAsync(TimeSpan.FromMinutes(5))));
            using var model = SchemaTests.OfflineContext();
            Assert.Equal((long)model.Database.GetMigrations().Count(), await Scalar<long>("SELECT count(*) FROM \"__EFMigrationsHistory\""));
            foreach (var r in replicas) await r.Client(Token).CreateUserAsync();
            Assert.All(replicas, r => Assert.DoesNotContain(" ERR] ", r.Output, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var r in replicas) await r.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_worker_killed_mid_job_leaves_a_lease_that_expires_and_another_process_finishes_the_job()
    {
        // The summary call hangs while `hang` is set, so process A is mid-job when we kill it.
        var hang = true;
        _fake.ChatHandler = r => hang && r.Stage == PromptStages.EntrySummary ? FakeReply.Delay(TimeSpan.FromMinutes(5)) : FakeReply.Default;

        await using var a = Start();
        await a.WaitHealthyAsync();
        var client = a.Client(Token);
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Gus, kill me mid-job"))).Ok();
        Assert.Null(await client.PostAsync($"/api/v1/users/buffer/{user}/chat", null).Ok());

        await LlmApp.Eventually(async () => _fake.CountStage(PromptStages.EntrySummary) >= 1, 30, "A never called the LLM");
        Assert.Equal("running", await Scalar<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
        var ownerA = await Scalar<string>("SELECT lease_owner FROM flush_jobs WHERE user_id = $1", user);
        Assert.Contains($":{a.ProcessId}:", ownerA);

        a.Kill(); // SIGKILL: no graceful hand-back, the lease is simply abandoned
        Assert.Equal("running", await Scalar<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
        hang = false;

        await using var b = Start();
        await b.WaitHealthyAsync();
        await LlmApp.Eventually(async () => await Scalar<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user) == "done", 60,
            "the job was not recovered after the lease expired");

        Assert.Equal(2, await Scalar<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
        Assert.Equal("expired", await Scalar<string>("SELECT outcome FROM flush_job_attempts WHERE attempt = 1 AND job_id = (SELECT id FROM flush_jobs WHERE user_id = $1)", user));
        var ownerB = await Scalar<string>("SELECT worker FROM flush_job_attempts WHERE attempt = 2 AND job_id = (SELECT id FROM flush_jobs WHERE user_id = $1)", user);
        Assert.Contains($":{b.ProcessId}:", ownerB);
        Assert.Equal(1L, await Scalar<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        Assert.Equal("done", await Scalar<string>("SELECT status FROM buffer_entries WHERE user_id = $1", user));
        var done = await b.Client(Token).GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?status=done").Ok();
        Assert.Single(done!["ids"]!.AsArray());
    }

    [Fact]
    public async Task Two_server_processes_drain_200_users_without_processing_any_entry_twice()
    {
        const int users = 200;
        _fake.ChatHandler = r => r.Stage == PromptStages.EntrySummary ? FakeReply.Delay(TimeSpan.FromMilliseconds(20)) : FakeReply.Default;
        await using var a = Start(leaseSeconds: "30");
        await using var b = Start(leaseSeconds: "30");
        await Task.WhenAll(a.WaitHealthyAsync(), b.WaitHealthyAsync());
        var clients = new[] { a.Client(Token), b.Client(Token) };

        var ids = new Guid[users];
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var client = clients[i % 2];
            ids[i] = await client.CreateUserAsync();
            await client.PostJson($"/api/v1/blobs/insert/{ids[i]}", Http.ChatBlob(("user", $"drain user {i:D3} line A"))).Ok();
            await client.PostJson($"/api/v1/blobs/insert/{ids[i]}", Http.ChatBlob(("user", $"drain user {i:D3} line B"))).Ok();
        });
        var sw = Stopwatch.StartNew();
        // Every user is flushed through BOTH replicas at the same time.
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            await Task.WhenAll(
                clients[0].PostAsync($"/api/v1/users/buffer/{ids[i]}/chat", null, CancellationToken.None).Ok(),
                clients[1].PostAsync($"/api/v1/users/buffer/{ids[i]}/chat", null, CancellationToken.None).Ok());
        });
        await LlmApp.Eventually(async () => await Scalar<long>("SELECT count(*) FROM buffer_entries WHERE status = 'done'") == 2 * users, 120,
            "not all entries were processed");
        sw.Stop();

        Assert.Equal((long)users, await Scalar<long>("SELECT count(*) FROM user_events"));
        Assert.Equal((long)users, await Scalar<long>("SELECT count(DISTINCT user_id) FROM user_events"));
        Assert.Equal((long)users, await Scalar<long>("SELECT count(*) FROM flush_jobs WHERE status = 'done'"));
        Assert.Equal(0L, await Scalar<long>("SELECT count(*) FROM flush_jobs WHERE attempts <> 1"));
        Assert.Equal(users, _fake.RequestsFor(PromptStages.EntrySummary).Count); // one summary per user: nothing processed twice
        // each entry's text reached the LLM exactly once
        var summaries = _fake.RequestsFor(PromptStages.EntrySummary).Select(r => r.User).ToList();
        for (var i = 0; i < users; i += 37)
        {
            Assert.Equal(1, summaries.Count(s => s.Contains($"drain user {i:D3} line A", StringComparison.Ordinal)));
        }
        // both replicas' workers took part
        Assert.Equal(2L, await Scalar<long>("SELECT count(DISTINCT split_part(worker, ':', 2)) FROM flush_job_attempts"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(120));
    }
}
