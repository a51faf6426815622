using System.Net;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Observability;

/// <summary>Upstream settings that used to refuse to start or were ignored, and the operator-facing switches.</summary>
public sealed class ConfigurationParityTests
{
    private static async Task<T> RunAsync<T>(T app, Func<T, Task> test) where T : MemobaseApp
    {
        await ((IAsyncLifetime)app).InitializeAsync();
        try
        {
            await test(app);
            return app;
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
        }
    }

    [Fact]
    public async Task An_unconfigured_llm_fails_the_flush_in_one_attempt_naming_the_setting()
    {
        await RunAsync(new MemobaseApp(), async app =>
        {
            var client = app.Client();
            var user = await client.CreateUserAsync();
            await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "hello"))).Ok();
            var message = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(503);
            Assert.Contains("MEMOBASE_LLM_API_KEY", message, StringComparison.Ordinal);
            Assert.Equal(1, await app.ScalarAsync<int>("SELECT attempts FROM flush_jobs WHERE user_id = $1", user));
            Assert.Equal("failed", await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE user_id = $1", user));
        });
    }

    [Fact]
    public async Task Jina_embeddings_get_the_task_hint_and_never_the_llm_key()
    {
        var app = new LlmApp();
        await ((IAsyncLifetime)app).InitializeAsync();
        try
        {
            app.With("embedding_provider", "jina").With("embedding_base_url", app.Fake.BaseUrl).With("embedding_api_key", "jina-key")
                .With("enable_event_embedding", "true").With("embedding_dim", "8");
            var client = app.Client();
            var user = await client.CreateUserAsync();
            await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I love tennis"))).Ok();
            await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

            Assert.NotEmpty(app.Fake.EmbeddingRequests);
            Assert.All(app.Fake.EmbeddingRequests, r =>
            {
                Assert.Equal("retrieval.passage", r.Task);
                Assert.Equal("Bearer jina-key", r.Headers["Authorization"]);
            });
            var data = await client.GetAsync("/api/v1/admin/status_check").Ok();
            Assert.Equal("ok", data!["embedding"]!.GetValue<string>());
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
        }
    }

    [Theory]
    [InlineData("ollama")]
    [InlineData("lmstudio")]
    public async Task Ollama_and_lm_studio_start_as_openai_compatible_endpoints(string provider)
    {
        var app = new LlmApp();
        await ((IAsyncLifetime)app).InitializeAsync();
        try
        {
            app.With("embedding_provider", provider).With("embedding_base_url", app.Fake.BaseUrl)
                .With("enable_event_embedding", "true").With("embedding_dim", "8");
            var data = await app.Client().GetAsync("/api/v1/admin/status_check").Ok();
            Assert.Equal("ok", data!["embedding"]!.GetValue<string>());
            var request = Assert.Single(app.Fake.EmbeddingRequests);
            Assert.Null(request.Task);
            Assert.False(request.Headers.ContainsKey("Authorization"), "the LLM key is not sent to another provider");
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
        }
    }

    [Fact]
    public async Task Cors_follows_use_cors_and_api_hosts()
    {
        await RunAsync(new MemobaseApp().With("use_cors", "true").With("api_hosts", "https://app.example, https://other.example"), async app =>
        {
            var client = app.Client(token: null);
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/users");
            preflight.Headers.Add("Origin", "https://app.example");
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            using var allowed = await client.SendAsync(preflight);
            Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
            Assert.Equal("https://app.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());

            using var get = new HttpRequestMessage(HttpMethod.Get, "/api/v1/healthcheck");
            get.Headers.Add("Origin", "https://evil.example");
            using var denied = await client.SendAsync(get);
            Assert.False(denied.Headers.Contains("Access-Control-Allow-Origin"));
        });
        await RunAsync(new MemobaseApp(), async app =>
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, "/api/v1/healthcheck");
            get.Headers.Add("Origin", "https://api.memobase.dev");
            using var response = await app.Client(token: null).SendAsync(get);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), "CORS is off unless use_cors is set");
        });
    }

    [Fact]
    public async Task Prometheus_port_serves_metrics_without_a_token_and_metrics_public_opens_the_main_endpoint()
    {
        var port = ServerProcess.FreePort();
        await RunAsync(new MemobaseApp().With("prometheus_port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)).With("metrics_public", "true"),
            async app =>
            {
                await app.Client(token: null).GetAsync("/api/v1/healthcheck");
                using var dedicated = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var page = await PrometheusText.ScrapeAsync(dedicated);
                Assert.True(page.Has("memobase_server_healthcheck_total"));
                var main = await PrometheusText.ScrapeAsync(app.Client(token: null));
                Assert.True(main.Has("memobase_server_healthcheck_total"));
            });
        await RunAsync(new MemobaseApp().With("metrics_enabled", "false"), async app =>
        {
            using var response = await app.Client().GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        });
    }
}
