using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Npgsql;

namespace Memobase.Server.Tests.Processing;

/// <summary>Two real server processes on one database share one LLM budget (the row in llm_budget_buckets).</summary>
public sealed class SharedBudgetTests : IAsyncLifetime
{
    private const string Token = "shared-budget-root";
    private const int RequestsPerMinute = 600;
    private string _db = "";
    private FakeOpenAiServer _fake = null!;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("budget");
        _fake = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _fake.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(_db);
    }

    private ServerProcess Start() => ServerProcess.Start(new Dictionary<string, string?>
    {
        ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
        ["ACCESS_TOKEN"] = Token,
        ["MEMOBASE_LLM_BASE_URL"] = _fake.BaseUrl,
        ["MEMOBASE_LLM_API_KEY"] = "test-key",
        ["MEMOBASE_LLM_REQUESTS_PER_MINUTE"] = RequestsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["MEMOBASE_WORKER_CONCURRENCY"] = "5",
        ["MEMOBASE_WORKER_POLL_SECONDS"] = "0.2",
        ["MEMOBASE_JOB_MAX_ATTEMPTS"] = "1",
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
    public async Task Two_replicas_together_stay_within_one_requests_per_minute_budget()
    {
        const int users = 20;
        await using var a = Start();
        await using var b = Start();
        await Task.WhenAll(a.WaitHealthyAsync(), b.WaitHealthyAsync());
        var clients = new[] { a.Client(Token), b.Client(Token) };
        var ids = new Guid[users];
        for (var i = 0; i < users; i++)
        {
            ids[i] = await clients[i % 2].CreateUserAsync();
            await clients[i % 2].PostJson($"/api/v1/blobs/insert/{ids[i]}", Http.ChatBlob(("user", $"budget user {i} likes tea"))).Ok();
        }
        // An empty bucket: from now on the two processes together may send 10 requests per second. The clock is read
        // before the statement: the reset happens at or after this instant, so a slow statement cannot make the bound tighter.
        var reset = DateTimeOffset.UtcNow;
        await Scalar<int>("""
            INSERT INTO llm_budget_buckets (name, requests, tokens, updated_at) VALUES ('chat', 0, 0, now())
            ON CONFLICT (name) DO UPDATE SET requests = 0, updated_at = now() RETURNING 1
            """);
        _fake.Reset();

        for (var i = 0; i < users; i++) Assert.Null(await clients[i % 2].PostAsync($"/api/v1/users/buffer/{ids[i]}/chat", null).Ok());
        await LlmApp.Eventually(async () => await Scalar<long>("SELECT count(*) FROM flush_jobs WHERE status = 'done'") == users, 120,
            "every job should finish: the budget delays calls, it does not fail them");

        var arrivals = _fake.ChatRequests.Select(r => r.ReceivedAt).Order().ToList();
        Assert.True(arrivals.Count >= 3 * users);
        var perSecond = RequestsPerMinute / 60.0;
        for (var i = 0; i < arrivals.Count; i++)
        {
            var allowed = perSecond * (arrivals[i] - reset).TotalSeconds + 2; // + the request in hand and clock rounding
            Assert.True(i + 1 <= allowed, $"request {i + 1} arrived {(arrivals[i] - reset).TotalSeconds:0.00} s after the reset: over the shared budget");
        }
        // both replicas ran jobs, so both spent from the one budget
        Assert.Equal(2L, await Scalar<long>("SELECT count(DISTINCT split_part(worker, ':', 2)) FROM flush_job_attempts"));
        Assert.Equal(0L, await Scalar<long>("SELECT count(*) FROM flush_jobs WHERE attempts <> 1"));
    }
}
