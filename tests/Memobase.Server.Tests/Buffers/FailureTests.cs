using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Buffers;

/// <summary>LLM failures: retried by the client and by the job runner with backoff, then failed with nothing lost.</summary>
public sealed class FailureTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task<Guid> UserWithChatAsync(string text)
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", text))).Ok();
        return user;
    }

    [Fact]
    public async Task Http_500s_are_retried_then_the_job_fails_and_the_entries_stay_retryable()
    {
        const string marker = "failing-500-user";
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) ? FakeReply.Status(500) : FakeReply.Default;
        var user = await UserWithChatAsync(marker);

        var message = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(503);
        Assert.Contains("Buffer processing failed", message);

        // 2 job attempts (job_max_attempts) × 2 HTTP tries (1 client retry) = 4 requests, all for the entry summary.
        var attempts = app.Fake.ChatRequests.Count(r => r.User.Contains(marker, StringComparison.Ordinal));
        Assert.Equal(4, attempts);
        Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
        Assert.Equal(2, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
        Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM buffer_entries WHERE user_id = $1", user));
        Assert.Contains("500", await app.ScalarAsync<string>("SELECT last_error FROM buffer_entries WHERE user_id = $1", user));
        Assert.Single((await _client.GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?status=failed").Ok())!["ids"]!.AsArray());

        // Admin view of the job: both attempts with their errors.
        var jobId = await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user);
        var detail = await _client.GetAsync($"/admin/v1/jobs/{jobId}").Ok();
        Assert.Equal("failed", detail!["job"]!["status"]!.GetValue<string>());
        Assert.Equal(2, detail["attempts"]!.AsArray().Count);
        Assert.All(detail["attempts"]!.AsArray(), a => Assert.Equal("failed", a!["outcome"]!.GetValue<string>()));
        Assert.Equal(1, detail["entries_by_status"]!["failed"]!.GetValue<int>());

        // The LLM recovers: the next flush picks the failed entry up again and nothing was lost.
        app.Fake.ChatHandler = null;
        var data = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        Assert.NotNull(data!.AsArray().Single()!["event_id"]);
        Assert.Equal("done", await app.ScalarAsync<string>("SELECT status FROM buffer_entries WHERE user_id = $1", user));
    }

    [Fact]
    public async Task A_failed_job_can_be_retried_through_the_admin_endpoint()
    {
        const string marker = "admin-retry-user";
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) ? FakeReply.Status(502) : FakeReply.Default;
        var user = await UserWithChatAsync(marker);
        await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(503);
        var jobId = await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user);

        await _client.PostAsync($"/admin/v1/jobs/{Guid.NewGuid()}/retry", null).Fails(404);
        app.Fake.ChatHandler = null;
        var retried = await _client.PostAsync($"/admin/v1/jobs/{jobId}/retry", null).Ok();
        Assert.Contains(retried!["status"]!.GetValue<string>(), new[] { "queued", "running", "done" }); // the worker may already have it
        await LlmApp.Eventually(async () => await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE id = $1", jobId) == "done");
        Assert.Equal(3, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE id = $1", jobId));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        await _client.PostAsync($"/admin/v1/jobs/{jobId}/retry", null).Fails(409); // done jobs cannot be retried
    }

    [Fact]
    public async Task Malformed_llm_output_still_completes_with_an_event_and_no_profiles()
    {
        const string marker = "garbage-user";
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) || r.Stage is PromptStages.Extract or PromptStages.Merge
            ? r.Stage == PromptStages.EntrySummary ? FakeReply.Text("- garbage-user said something") : FakeReply.Text("%%% not the expected format ::: at all")
            : FakeReply.Default;
        try
        {
            var user = await UserWithChatAsync(marker);
            var data = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
            var result = data!.AsArray().Single()!;
            Assert.NotNull(result["event_id"]);
            Assert.Empty(result["add_profiles"]!.AsArray());
            Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM user_profiles WHERE user_id = $1", user));
            Assert.Equal("- garbage-user said something", await app.ScalarAsync<string>(
                "SELECT event_data ->> 'event_tip' FROM user_events WHERE user_id = $1", user));
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }
}

/// <summary>An LlmApp whose LLM attempts time out after 1 s.</summary>
public sealed class TimeoutApp : LlmApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("llm_timeout_seconds", "1");
    }
}

public sealed class TimeoutTests(TimeoutApp app) : IClassFixture<TimeoutApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task Llm_timeouts_are_retried_then_failed()
    {
        const string marker = "timeout-user";
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) ? FakeReply.Delay(TimeSpan.FromSeconds(30)) : FakeReply.Default;
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", marker))).Ok();
        await _client.PostAsync($"/api/v1/users/buffer/{user}/chat", null).Ok();
        await LlmApp.Eventually(async () => await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user) == "failed", 30);
        // 2 job attempts × (1 try + 1 client retry), each cut off by the 1 s attempt timeout
        Assert.Equal(4, app.Fake.ChatRequests.Count(r => r.User.Contains(marker, StringComparison.Ordinal)));
        Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM buffer_entries WHERE user_id = $1", user));
        Assert.Equal(503, await app.ScalarAsync<int>("SELECT last_errno FROM flush_jobs WHERE user_id = $1", user));
    }
}

/// <summary>Synchronous flushes wait at most 1 s (the LLM attempt timeout stays at 5 s).</summary>
public sealed class WaitTimeoutApp : LlmApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("wait_process_timeout_seconds", "1");
    }
}

public sealed class WaitTimeoutTests(WaitTimeoutApp app) : IClassFixture<WaitTimeoutApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task A_synchronous_flush_that_outlasts_the_wait_timeout_gets_errno_504_and_the_job_still_finishes()
    {
        const string marker = "slow-but-fine";
        // one 3 s summary call: well past the 1 s wait, well inside the 5 s LLM attempt timeout
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) && r.Stage == PromptStages.EntrySummary
            ? FakeReply.Delay(TimeSpan.FromSeconds(3)) : FakeReply.Default;
        try
        {
            var user = await _client.CreateUserAsync();
            await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", marker))).Ok();
            var message = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(504);
            Assert.Contains("Timed out after 1 s waiting for flush job", message);
            Assert.Contains("/admin/v1/jobs/", message);
            await LlmApp.Eventually(async () => await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user) == "done", 30);
            Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }
}

public sealed class UnconfiguredLlmTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Fact]
    public async Task Without_an_llm_the_server_runs_and_a_flush_fails_naming_the_setting()
    {
        app.With("job_max_attempts", "1");
        var client = app.Client();
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "hello"))).Ok();
        var message = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(503);
        Assert.Contains("llm_api_key", message);
        Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM buffer_entries WHERE user_id = $1", user));
        await client.GetAsync("/api/v1/healthcheck").Ok();
    }
}
