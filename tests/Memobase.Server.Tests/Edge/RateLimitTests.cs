using System.Net;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Edge;

public sealed class RateLimitedApp : MemobaseApp
{
    public RateLimitedApp()
    {
        With("rate_limit_requests_per_second", "1");
        With("rate_limit_burst", "5");
    }
}

public sealed class RateLimitTests(RateLimitedApp app) : IClassFixture<RateLimitedApp>
{
    [Fact]
    public async Task A_project_over_its_bucket_gets_429_with_the_envelope_and_retry_after_while_others_and_root_go_on()
    {
        var root = app.Client();
        var a = app.Client((await root.PostJson("/admin/v1/projects", new { project_id = "rate-a" }).Ok())!["token"]!.GetValue<string>());
        var b = app.Client((await root.PostJson("/admin/v1/projects", new { project_id = "rate-b" }).Ok())!["token"]!.GetValue<string>());

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 12 && limited is null; i++)
        {
            var response = await a.GetAsync("/api/v1/project/profile_config");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else response.Dispose();
        }
        Assert.NotNull(limited);
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) >= 5, string.Join(",", statuses));
        var body = await limited.Json();
        Assert.Equal(429, body["errno"]!.GetValue<int>());
        Assert.Null(body["data"]);
        Assert.Contains("rate-a", body["errmsg"]!.GetValue<string>());
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        limited.Dispose();

        await b.GetAsync("/api/v1/project/profile_config").Ok();
        for (var i = 0; i < 20; i++) await root.GetAsync("/api/v1/project/profile_config").Ok();
        await app.Client(token: null).GetAsync("/api/v1/healthcheck").Ok();
    }
}
