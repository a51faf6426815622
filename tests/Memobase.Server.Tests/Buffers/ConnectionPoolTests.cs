using System.Text.Json.Nodes;
using Memobase.Server.Processing;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Webhooks;

namespace Memobase.Server.Tests.Buffers;

/// <summary>A server whose connection pool holds only two connections.</summary>
public sealed class TwoConnectionPoolApp : LlmApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("db_max_pool_size", "2");
        With("worker_concurrency", "4");
    }
}

/// <summary>
/// The pool bounds what a process asks of PostgreSQL, so nothing may hold a pooled connection while it waits for another
/// (that deadlocks a small pool), and the long-lived LISTEN connection must not take a pooled one for good.
/// </summary>
public sealed class ConnectionPoolTests(TwoConnectionPoolApp app) : IClassFixture<TwoConnectionPoolApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task Parallel_flushes_and_reads_all_complete_with_two_pooled_connections()
    {
        var users = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            var user = await _client.CreateUserAsync();
            await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", $"I'm user {i} and I like tea"), ("assistant", "Noted"))).Ok();
            users.Add(user);
        }

        // 6 synchronous flushes (each needs the worker's claim, load, profile read and completion) and 60 reads at once.
        var flushes = users.Select(u => _client.PostAsync($"/api/v1/users/buffer/{u}/chat?wait_process=true", null).Ok()).ToList();
        var reads = Enumerable.Range(0, 60).Select(i => _client.GetAsync($"/api/v1/users/buffer/capacity/{users[i % users.Count]}/chat?status=idle").Ok()).ToList();
        var all = Task.WhenAll(flushes.Concat(reads));
        var finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(25)));
        Assert.True(finished == all, "flushes and reads did not complete within 25 s with a 2-connection pool");

        foreach (var flush in flushes)
        {
            var result = (await flush)!.AsArray().Single()!;
            Assert.NotNull(result["event_id"]);
        }
        foreach (var read in reads) Assert.NotNull((await read)!["ids"]);
        foreach (var user in users)
        {
            Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        }
        // No attempt failed on the way (a pool timeout would have been recorded as a failed attempt and retried).
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM flush_jobs WHERE attempts <> 1 OR status <> 'done'"));
    }

    [Fact]
    public async Task The_listen_connection_is_outside_the_pool()
    {
        _ = await _client.GetAsync("/api/v1/healthcheck").Ok(); // host started: the worker is listening

        await LlmApp.Eventually(async () => await ServerBackends("query = 'LISTEN " + JobQueue.NotifyChannel + "'") == 1,
            because: "the worker LISTENs on its own connection");
        await LlmApp.Eventually(async () => await ServerBackends("query = 'LISTEN " + WebhookOutbox.NotifyChannel + "'") == 1,
            because: "the webhook delivery worker LISTENs on its own connection");

        // Saturate the pool; the server never has more than 2 pooled connections plus the two LISTEN ones.
        var reads = Enumerable.Range(0, 40).Select(_ => _client.GetAsync($"/api/v1/users/buffer/capacity/{Guid.NewGuid()}/chat?status=idle").Ok());
        await Task.WhenAll(reads);
        Assert.InRange(await ServerBackends("true"), 2, 4);
    }

    private Task<long> ServerBackends(string condition) => app.ScalarAsync<long>(
        $"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'memobase-server' AND {condition}");
}
