using System.Net;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Observability;

/// <summary>Configuration errors fail fast, flushes name their job, upstream's status check, the root page.</summary>
public sealed class OperationsTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    private async Task<Guid> UserWithChatAsync(string text)
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", text))).Ok();
        return user;
    }

    [Theory]
    [InlineData(401, "{\"error\":{\"message\":\"Incorrect API key provided\",\"code\":\"invalid_api_key\"}}")]
    [InlineData(403, null)]
    [InlineData(404, "{\"error\":{\"message\":\"The model `gpt-x` does not exist\",\"code\":\"model_not_found\"}}")]
    public async Task A_configuration_error_fails_the_job_in_one_attempt_without_backoff(int status, string? body)
    {
        var marker = $"config-error-{status}";
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) ? FakeReply.Status(status, body) : FakeReply.Default;
        try
        {
            var user = await UserWithChatAsync(marker);
            var message = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(502);
            Assert.Contains("LLM configuration error", message, StringComparison.Ordinal);
            Assert.Contains($"HTTP {status}", message, StringComparison.Ordinal);
            Assert.Contains("llm_api_key", message, StringComparison.Ordinal);

            Assert.Single(app.Fake.ChatRequests, r => r.User.Contains(marker, StringComparison.Ordinal)); // no HTTP retry either
            Assert.Equal(1, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal(502, await app.ScalarAsync<int>("SELECT last_errno FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM buffer_entries WHERE user_id = $1", user));

            var job = await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user);
            var call = (await _client.GetAsync($"/admin/v1/jobs/{job}").Ok())!["attempts"]!.AsArray().Single()!["calls"]!.AsArray().Single()!;
            Assert.Equal("entry_summary", call["stage"]!.GetValue<string>());
            Assert.Equal($"http_{status}", call["outcome"]!.GetValue<string>());
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task The_job_view_lists_each_llm_call_with_stage_model_tokens_and_duration()
    {
        var user = await UserWithChatAsync("calls-user: I am Gus and I love tennis");
        await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        var job = await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user);

        var detail = await _client.GetAsync($"/admin/v1/jobs/{job}").Ok();
        var attempt = detail!["attempts"]!.AsArray().Single()!;
        var calls = attempt["calls"]!.AsArray().Select(c => c!).ToList();
        Assert.Equal(["entry_summary", "extract", "merge"], calls.Select(c => c["stage"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal("entry_summary", calls[0]["stage"]!.GetValue<string>()); // in start order
        Assert.All(calls, c =>
        {
            Assert.Equal("chat", c["kind"]!.GetValue<string>());
            Assert.Equal("gpt-4o-mini", c["model"]!.GetValue<string>());
            Assert.Equal("ok", c["outcome"]!.GetValue<string>());
            Assert.True(c["input_tokens"]!.GetValue<int>() > 0);
            Assert.True(c["output_tokens"]!.GetValue<int>() > 0);
            Assert.True(c["duration_ms"]!.GetValue<int>() >= 0);
        });
        Assert.Equal(attempt["prompt_tokens"]!.GetValue<int>(), calls.Sum(c => c["input_tokens"]!.GetValue<int>()));
        Assert.Equal(attempt["completion_tokens"]!.GetValue<int>(), calls.Sum(c => c["output_tokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Async_flushes_and_flushing_inserts_name_their_job()
    {
        var user = await UserWithChatAsync("header-user says hi");
        using var flush = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat", null);
        var body = await flush.Json();
        Assert.Null(body["data"]); // upstream's body: scheduled
        var header = Guid.Parse(flush.Headers.GetValues("X-Memobase-Job-Id").Single());
        Assert.Equal(await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user), header);

        // an insert that passes max_chat_blob_buffer_token_size flushes: it names that job too
        var big = string.Join(' ', Enumerable.Repeat("tennis on Sundays with my sister", 200));
        var other = await _client.CreateUserAsync();
        using var insert = await _client.PostJson($"/api/v1/blobs/insert/{other}", Http.ChatBlob(("user", big)));
        var inserted = await insert.Json();
        Assert.Equal(0, inserted["errno"]!.GetValue<int>());
        var insertJob = Guid.Parse(insert.Headers.GetValues("X-Memobase-Job-Id").Single());
        Assert.Equal(await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", other), insertJob);

        // an insert that does not flush has no header
        var third = await _client.CreateUserAsync();
        using var small = await _client.PostJson($"/api/v1/blobs/insert/{third}", Http.ChatBlob(("user", "short")));
        Assert.False(small.Headers.Contains("X-Memobase-Job-Id"));
    }

    [Fact]
    public async Task Status_check_is_root_only_and_reports_each_check()
    {
        var data = await _client.GetAsync("/api/v1/admin/status_check").Ok();
        Assert.Equal("ok", data!["database"]!.GetValue<string>());
        Assert.Equal("ok", data["llm"]!.GetValue<string>());
        Assert.Equal("disabled", data["embedding"]!.GetValue<string>());
        Assert.Contains(app.Fake.ChatRequests, r => r.User == "Test" && r.MaxTokens == 16);

        var token = (await _client.PostJson("/admin/v1/projects", new { project_id = $"sc-{Guid.NewGuid():N}"[..20] }).Ok())!["token"]!.GetValue<string>();
        using (var notRoot = await app.Client(token).GetAsync("/api/v1/admin/status_check"))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, notRoot.StatusCode);
            Assert.Equal("Only Root can access this", (await notRoot.Json())["detail"]!.GetValue<string>());
        }

        app.Fake.ChatHandler = r => r.User == "Test" ? FakeReply.Status(401) : FakeReply.Default;
        try
        {
            using var failing = await _client.GetAsync("/api/v1/admin/status_check");
            Assert.Equal(HttpStatusCode.InternalServerError, failing.StatusCode);
            var detail = (await failing.Json())["detail"]!.GetValue<string>();
            Assert.StartsWith("Root status checking failed: LLM", detail, StringComparison.Ordinal);
            Assert.Contains("401", detail, StringComparison.Ordinal);
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public async Task The_root_page_leads_to_the_admin_console_whose_sign_in_page_links_the_docs()
    {
        using var client = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/admin", response.Headers.Location!.OriginalString);
        using var admin = await client.GetAsync("/admin");
        Assert.Equal(HttpStatusCode.Redirect, admin.StatusCode); // no session yet: to the sign-in page
        var login = await client.GetStringAsync(admin.Headers.Location!);
        Assert.Contains("href=\"/docs\"", login, StringComparison.Ordinal);
    }
}
