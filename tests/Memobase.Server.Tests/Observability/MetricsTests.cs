using System.Net;
using Memobase.Server.Observability;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Memobase.Server.Tests.Observability;

/// <summary>
/// <c>/metrics</c> after real work through the fake LLM. Instruments are process-wide (other servers of the test run
/// record too), so every exact assertion is on series of a project created by the test itself.
/// </summary>
public sealed class MetricsTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _root = app.Client();

    private async Task<(string ProjectId, HttpClient Client)> ProjectAsync(string prefix)
    {
        var id = $"{prefix}-{Guid.NewGuid():N}"[..24];
        var token = (await _root.PostJson("/admin/v1/projects", new { project_id = id }).Ok())!["token"]!.GetValue<string>();
        return (id, app.Client(token));
    }

    [Fact]
    public async Task Metrics_need_the_root_token()
    {
        var (_, project) = await ProjectAsync("m-auth");
        using (var anonymous = await app.Client(token: null).GetAsync("/metrics")) Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using (var wrong = await app.Client("nope").GetAsync("/metrics")) Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using (var projectToken = await project.GetAsync("/metrics")) Assert.Equal(HttpStatusCode.Forbidden, projectToken.StatusCode);
        var page = await PrometheusText.ScrapeAsync(_root);
        Assert.Contains("# TYPE memobase_server_requests_total counter", page.Raw, StringComparison.Ordinal);
        Assert.Contains("# TYPE memobase_server_request_latency histogram", page.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flush_through_the_fake_llm_moves_the_counters_by_the_expected_amounts()
    {
        var (project, client) = await ProjectAsync("m-flush");
        var p = ("project_id", project);
        var before = await PrometheusText.ScrapeAsync(_root);
        Assert.Equal(0, before.Sum("memobase_server_llm_invocations_total", p));

        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I am Gus and I play tennis every Sunday"))).Ok();
        var chatBefore = app.Fake.ChatRequests.Count;
        await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        var llmCalls = app.Fake.ChatRequests.Count - chatBefore;
        var job = await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user);
        var promptTokens = await app.ScalarAsync<int>("SELECT prompt_tokens FROM flush_jobs WHERE id = $1", job);
        var completionTokens = await app.ScalarAsync<int>("SELECT completion_tokens FROM flush_jobs WHERE id = $1", job);
        Assert.True(llmCalls >= 3, $"summary, extract and merge at least, got {llmCalls}");

        var after = await PrometheusText.ScrapeAsync(_root);
        // upstream's names
        Assert.Equal(1, after.Sum("memobase_server_requests_total", p, ("path", "/api/v1/users"), ("method", "POST")));
        Assert.Equal(1, after.Sum("memobase_server_requests_total", p, ("path", "/api/v1/blobs/insert")));
        Assert.Equal(1, after.Sum("memobase_server_requests_total", p, ("path", "/api/v1/users/buffer")));
        Assert.Equal(3, after.Sum("memobase_server_request_latency_count", p));
        Assert.Equal(llmCalls, after.Sum("memobase_server_llm_invocations_total", p));
        Assert.Equal(llmCalls, after.Sum("memobase_server_llm_latency_count", p));
        Assert.Equal(1, after.Sum("memobase_server_llm_invocations_total", p, ("stage", "entry_summary")));
        Assert.Equal(promptTokens, after.Sum("memobase_server_llm_input_tokens_total", p));
        Assert.Equal(completionTokens, after.Sum("memobase_server_llm_output_tokens_total", p));
        // the durable queue
        Assert.Equal(1, after.Sum("memobase_flush_enqueued_total", p, ("trigger", "flush")));
        Assert.Equal(1, after.Sum("memobase_flush_job_attempts_total", p, ("outcome", "done")));
        Assert.Equal(1, after.Sum("memobase_flush_job_duration_seconds_count", p, ("outcome", "done")));
        Assert.Equal(1, after.Sum("memobase_flush_job_latency_seconds_count", p, ("outcome", "done")));
        Assert.Equal(1, after.Sum("memobase_flush_job_queue_wait_seconds_count", p));
        Assert.Equal(0, after.Sum("memobase_llm_retries_total", p));
        // no user id anywhere in the page
        Assert.DoesNotContain(user.ToString(), after.Raw, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Http_retries_are_counted_by_cause_and_the_healthcheck_by_upstreams_counter()
    {
        var (project, client) = await ProjectAsync("m-retry");
        var p = ("project_id", project);
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "retry-marker says hello"))).Ok();
        var failed = 0;
        app.Fake.ChatHandler = r => r.User.Contains("retry-marker", StringComparison.Ordinal) && Interlocked.Increment(ref failed) == 1
            ? FakeReply.Status(429)
            : FakeReply.Default;
        try
        {
            var health = (await PrometheusText.ScrapeAsync(_root)).Sum("memobase_server_healthcheck_total");
            await app.Client(token: null).GetAsync("/api/v1/healthcheck");
            await app.Client(token: null).GetAsync("/api/v1/healthcheck");
            await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

            var page = await PrometheusText.ScrapeAsync(_root);
            Assert.Equal(1, page.Sum("memobase_llm_retries_total", p, ("kind", "chat"), ("cause", "http_429")));
            Assert.Equal(1, page.Sum("memobase_flush_job_attempts_total", p, ("outcome", "done")));
            Assert.True(page.Sum("memobase_server_healthcheck_total") >= health + 2);
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task Calls_a_request_makes_carry_its_project_and_stage()
    {
        var (project, client) = await ProjectAsync("m-req");
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/users/profile/{user}", new { content = "plays tennis", attributes = new { topic = "interest", sub_topic = "sport" } }).Ok();
        var chats = Uri.EscapeDataString("""[{"role":"user","content":"what sport do I like?"}]""");
        var chatBefore = app.Fake.ChatRequests.Count;
        await client.GetAsync($"/api/v1/users/profile/{user}?chats_str={chats}").Ok();
        Assert.Equal(chatBefore + 1, app.Fake.ChatRequests.Count); // the profile filter asked the LLM

        var page = await PrometheusText.ScrapeAsync(_root);
        Assert.Equal(1, page.Sum("memobase_server_llm_invocations_total", ("project_id", project), ("stage", "profile_filter")));
    }

    [Fact]
    public async Task Queue_gauges_show_a_failed_job_of_the_project()
    {
        var (project, client) = await ProjectAsync("m-gauge");
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "gauge-marker"))).Ok();
        app.Fake.ChatHandler = r => r.User.Contains("gauge-marker", StringComparison.Ordinal) ? FakeReply.Status(500) : FakeReply.Default;
        try
        {
            await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(503);
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
        await app.Services.GetRequiredService<QueueGauges>().RefreshAsync(CancellationToken.None);

        var page = await PrometheusText.ScrapeAsync(_root);
        Assert.Equal(1, page.Sum("memobase_flush_jobs", ("project_id", project), ("status", "failed")));
        Assert.Equal(0, page.Sum("memobase_flush_jobs", ("project_id", project), ("status", "queued")));
        // 2 attempts (job_max_attempts): one backed off, one failed for good; each retried once at HTTP level (5xx)
        Assert.Equal(1, page.Sum("memobase_flush_job_attempts_total", ("project_id", project), ("outcome", "retry")));
        Assert.Equal(1, page.Sum("memobase_flush_job_attempts_total", ("project_id", project), ("outcome", "failed")));
        Assert.Equal(2, page.Sum("memobase_llm_retries_total", ("project_id", project), ("cause", "http_5xx")));
        Assert.Equal(2, page.Sum("memobase_llm_failures_total", ("project_id", project), ("stage", "entry_summary"), ("cause", "http_500")));
    }
}
