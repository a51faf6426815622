using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using StandardWebhooks;
using Memobase.Server.Data;

namespace Memobase.Server.Tests.Webhooks;

/// <summary>The outbox survives a crash: real server processes on one database, killed with SIGKILL.</summary>
public sealed class WebhookCrashTests : IAsyncLifetime
{
    private const string Token = "webhook-crash-root";
    private string _db = "";
    private FakeOpenAiServer _fake = null!;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("whc");
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
        ["MEMOBASE_WORKER_POLL_SECONDS"] = "0.2",
        ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "false",
        ["MEMOBASE_USE_TIMEZONE"] = "UTC",
        ["MEMOBASE_WEBHOOK_ALLOW_PRIVATE_URLS"] = "true",
        ["MEMOBASE_WEBHOOK_POLL_SECONDS"] = "0.1",
        ["MEMOBASE_WEBHOOK_RETRY_BASE_DELAY_SECONDS"] = "0.2",
        ["MEMOBASE_WEBHOOK_RETRY_MAX_DELAY_SECONDS"] = "0.5",
        ["MEMOBASE_WEBHOOK_MAX_ATTEMPTS"] = "100",
        ["Serilog__MinimumLevel"] = "Error",
    });

    [Fact]
    public async Task A_server_killed_after_committing_a_job_still_delivers_its_webhook_after_restart()
    {
        await using var receiver = await WebhookReceiver.StartAsync(listening: false);
        string secret;
        Guid jobId;
        await using (var first = Start())
        {
            await first.WaitHealthyAsync();
            var root = first.Client(Token);
            var project = (await root.PostJson("/admin/v1/projects", new { project_id = "crash" }).Ok())!;
            var client = first.Client(project["token"]!.GetValue<string>());
            var webhook = new WebhookProject("crash", client, project["token"]!.GetValue<string>());
            (_, secret) = await webhook.CreateWebhookAsync(receiver.Url, WebhookEvents.FlushCompleted);
            (_, jobId, _) = await client.FlushedUserAsync("Hi, I am Gus and I like pizza");

            // The job committed with its message; the receiver is down, so the first process cannot deliver it.
            await LlmApp.Eventually(async () => await Scalar<int>("SELECT attempts FROM webhook_deliveries") >= 1, because: "a refused attempt");
            first.Kill();
        }
        Assert.Equal("done", await Scalar<string>("SELECT status FROM flush_jobs WHERE id = $1", jobId));
        Assert.Equal("pending", await Scalar<string>("SELECT status FROM webhook_deliveries"));

        await receiver.StartListeningAsync();
        await using var second = Start();
        await second.WaitHealthyAsync();
        await WebhookTestKit.Eventually(() => receiver.Accepted.Count == 1, seconds: 60, because: "the restarted server delivers the message");

        var hook = receiver.Received.Single();
        Assert.Equal(WebhookEvents.FlushCompleted, hook.Type);
        Assert.Equal(jobId.ToString(), hook.Data["job_id"]!.GetValue<string>());
        new StandardWebhook(secret).Verify(hook.Body, hook.Headers);
        await LlmApp.Eventually(async () => await Scalar<string>("SELECT status FROM webhook_deliveries") == "delivered");
        Assert.Equal(hook.Id, await Scalar<string>("SELECT id FROM webhook_deliveries"));
    }

    private async Task<T> Scalar<T>(string sql, params object[] args)
    {
        await using var conn = new Npgsql.NpgsqlConnection(_db);
        await conn.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = a });
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
