using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tests.Observability;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Processing;

/// <summary>
/// A server whose jobs have a single attempt, whose LLM calls get no HTTP-level retries and give up waiting out 429s
/// after 1 s, and whose pool has two connections: a 429 that spent an attempt or a retry would fail its job, and a job
/// holding a connection during its LLM call would block the others.
/// </summary>
public sealed class PaceApp : LlmApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("job_max_attempts", "1");
        With("llm_max_retries", "0");
        With("llm_rate_limit_max_wait_seconds", "1");
        With("db_max_pool_size", "2");
    }
}

/// <summary>How the worker paces LLM calls: 429s, connections during calls. (Timings belong in bench/.)</summary>
public sealed class LlmPaceTests(PaceApp app) : IClassFixture<PaceApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task<Guid> UserWithChatAsync(string text)
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", text))).Ok();
        return user;
    }

    [Fact]
    public async Task A_429_is_waited_out_without_spending_an_attempt_or_a_retry()
    {
        var user = await UserWithChatAsync("rate-marker-one: I'm Ada and I like chess");
        var limited = 0;
        app.Fake.ChatHandler = r => r.User.Contains("rate-marker-one", StringComparison.Ordinal) && r.Stage == PromptStages.EntrySummary
            && Interlocked.Increment(ref limited) == 1
            ? FakeReply.Status(429, retryAfter: TimeSpan.FromSeconds(1))
            : FakeReply.Default;
        try
        {
            var result = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

            Assert.NotNull(result!.AsArray().Single()!["event_id"]);
            Assert.Equal(2, app.Fake.RequestsFor(PromptStages.EntrySummary).Count(r => r.User.Contains("rate-marker-one", StringComparison.Ordinal)));
            Assert.Equal(1, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal("done", await app.ScalarAsync<string>(
                "SELECT a.outcome FROM flush_job_attempts a JOIN flush_jobs j ON j.id = a.job_id WHERE j.user_id = $1 AND a.attempt = 1", user));
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task A_rate_limit_outlasting_the_wait_hands_the_job_back_without_spending_its_only_attempt()
    {
        var user = await UserWithChatAsync("rate-marker-two: I'm Bob and I like go");
        var limited = 0;
        // Three 429s in a row: the call waits out the first (1 s), gives up on the second (llm_rate_limit_max_wait_seconds = 1);
        // the job is queued again and its next run waits out the third.
        app.Fake.ChatHandler = r => r.User.Contains("rate-marker-two", StringComparison.Ordinal) && r.Stage == PromptStages.EntrySummary
            && Interlocked.Increment(ref limited) <= 3
            ? FakeReply.Status(429, retryAfter: TimeSpan.FromSeconds(1))
            : FakeReply.Default;
        try
        {
            var result = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

            Assert.NotNull(result!.AsArray().Single()!["event_id"]);
            Assert.True(Volatile.Read(ref limited) >= 4, $"the provider saw {limited} summary requests");
            // job_max_attempts is 1: had the rate limit spent the attempt, the job would have failed.
            Assert.Equal("done", await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal(1, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task No_database_connection_is_held_while_calls_wait_for_the_llm()
    {
        const int users = 6;
        var ids = new List<Guid>();
        for (var i = 0; i < users; i++) ids.Add(await UserWithChatAsync($"held-marker-{i}: I'm user {i}"));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Fake.ChatHandler = r => r.User.Contains("held-marker", StringComparison.Ordinal) && r.Stage == PromptStages.EntrySummary
            ? FakeReply.WaitFor(gate.Task)
            : FakeReply.Default;
        try
        {
            foreach (var user in ids) Assert.Null(await _client.PostAsync($"/api/v1/users/buffer/{user}/chat", null).Ok());

            // Six calls in flight at once with a pool of two connections: none of them holds one.
            await LlmApp.Eventually(async () => app.Fake.RequestsFor(PromptStages.EntrySummary).Count(r => r.User.Contains("held-marker", StringComparison.Ordinal)) == users,
                30, "all six jobs should be waiting for the LLM at the same time");
            // A background loop (lease heartbeat, maintenance, gauges) may be mid-query at any one instant; a connection
            // held through the LLM wait would stay busy while the gate is closed, so "none busy" must be seen.
            await LlmApp.Eventually(async () => await app.ScalarAsync<long>("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'memobase-server' AND state <> 'idle' AND pid <> pg_backend_pid()
                  AND query NOT LIKE 'LISTEN %'
                """) == 0, 10, "no server connection should stay busy while every job waits for the LLM");
            // ...and the API still gets connections.
            Assert.NotNull(await _client.GetAsync($"/api/v1/users/buffer/capacity/{ids[0]}/chat?status=processing").Ok());

            gate.SetResult();
            foreach (var user in ids)
            {
                await LlmApp.Eventually(async () => await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user) == "done", 30);
            }
        }
        finally
        {
            gate.TrySetResult();
            app.Fake.ChatHandler = null;
        }
    }
}

/// <summary>A server with a budget of 120 requests and 600,000 tokens per minute, shared through PostgreSQL.</summary>
public sealed class BudgetApp : LlmApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("llm_requests_per_minute", "120");
        With("llm_tokens_per_minute", "600000");
        With("job_max_attempts", "1");
    }
}

public sealed class LlmBudgetTests(BudgetApp app) : IClassFixture<BudgetApp>
{
    private readonly HttpClient _root = app.Client();

    [Fact]
    public async Task An_exhausted_budget_delays_calls_and_does_not_fail_the_job()
    {
        var id = $"budget-{Guid.NewGuid():N}"[..24];
        var token = (await _root.PostJson("/admin/v1/projects", new { project_id = id }).Ok())!["token"]!.GetValue<string>();
        var client = app.Client(token);
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Eve and I collect stamps"))).Ok();
        // Spend the shared budget (as other replicas would have): requests and tokens in debt.
        await app.ScalarAsync<int>("""
            INSERT INTO llm_budget_buckets (name, requests, tokens, updated_at) VALUES ('chat', -2, -5000, now())
            ON CONFLICT (name) DO UPDATE SET requests = -2, tokens = -5000, updated_at = now() RETURNING 1
            """);

        var result = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

        Assert.NotNull(result!.AsArray().Single()!["event_id"]);
        Assert.Equal(1, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
        var page = await PrometheusText.ScrapeAsync(_root);
        Assert.True(page.Sum("memobase_llm_budget_waits_total", ("project_id", id)) >= 1, "the first call should have waited for the budget");
        Assert.True(page.Sum("memobase_llm_budget_wait_seconds_count", ("project_id", id)) >= 1);
    }
}
