using System.Net;
using System.Net.Http.Json;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Webhooks;
using Memobase.Server.Data;

namespace Memobase.Server.Tests.Webhooks;

/// <summary>The webhook admin API: root or the project's own token, validation, CRUD; and the URL rules.</summary>
public sealed class WebhookApiTests(WebhookApp app) : IClassFixture<WebhookApp>
{
    [Fact]
    public async Task Root_and_the_projects_own_token_manage_its_webhooks_other_tokens_are_refused()
    {
        var project = await app.ProjectAsync("wh-api");
        var other = await app.ProjectAsync("wh-api-other");
        var path = $"/admin/v1/projects/{project.ProjectId}/webhooks";

        var created = (await project.Client.PostJson(path, new
        {
            url = "https://hooks.example.com/memobase?x=1",
            events = new[] { WebhookEvents.FlushCompleted, WebhookEvents.UserDeleted, WebhookEvents.FlushCompleted },
            description = "billing sync",
        }).Ok())!;
        var id = created["id"]!.GetValue<string>();
        Assert.Equal([WebhookEvents.FlushCompleted, WebhookEvents.UserDeleted], created["events"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Equal("billing sync", created["description"]!.GetValue<string>());
        Assert.True(created["enabled"]!.GetValue<bool>());
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", created["secret"]!.GetValue<string>());

        // Root sees it too; list and get never show the secret.
        var listed = (await app.Client().GetAsync(path).Ok())!.AsArray();
        Assert.Equal(id, listed.Single()!["id"]!.GetValue<string>());
        Assert.Null(listed.Single()!["secret"]);
        Assert.Null((await project.Client.GetAsync($"{path}/{id}").Ok())!["secret"]);

        // Another project's token: 403 with the envelope, for every operation; no token: 401.
        foreach (var request in new Func<HttpClient, Task<HttpResponseMessage>>[]
                 {
                     c => c.GetAsync(path), c => c.GetAsync($"{path}/{id}"), c => c.PostJson(path, new { url = "https://a.example", events = new[] { "user.deleted" } }),
                     c => c.DeleteAsync($"{path}/{id}"), c => c.PostAsync($"{path}/{id}/rotate_secret", null), c => c.GetAsync($"{path}/{id}/deliveries"),
                 })
        {
            using var refused = await request(other.Client);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var body = await refused.Json();
            Assert.Equal(403, body["errno"]!.GetValue<int>());
            Assert.Null(body["data"]);
            using var anonymous = await request(app.Client(token: null));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        Assert.Empty((await other.Client.GetAsync($"/admin/v1/projects/{other.ProjectId}/webhooks").Ok())!.AsArray());

        // Update: only the given fields change; "" clears the description.
        var updated = (await project.Client.PatchAsync($"{path}/{id}", JsonContent.Create(new { events = new[] { "flush.failed" }, description = "" })).Ok())!;
        Assert.Equal(["flush.failed"], updated["events"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Null(updated["description"]);
        Assert.Equal("https://hooks.example.com/memobase?x=1", updated["url"]!.GetValue<string>());

        // Delete: gone, and unknown ids are errno 404.
        await project.Client.DeleteAsync($"{path}/{id}").Ok();
        await project.Client.GetAsync($"{path}/{id}").Fails(404);
        await project.Client.DeleteAsync($"{path}/{id}").Fails(404);
        await project.Client.PostAsync($"{path}/{id}/test", null).Fails(404);
        await app.Client().GetAsync("/admin/v1/projects/no-such-project/webhooks").Fails(404);
    }

    [Theory]
    [InlineData("ftp://example.com/hook")]
    [InlineData("/relative/hook")]
    [InlineData("https://user:pass@example.com/hook")]
    [InlineData("https://example.com/hook#fragment")]
    [InlineData("not a url")]
    public async Task Invalid_urls_are_422_naming_the_url(string url)
    {
        var project = await app.ProjectAsync("wh-url");
        var error = await project.Client.PostJson($"/admin/v1/projects/{project.ProjectId}/webhooks", new { url, events = new[] { "user.deleted" } })
            .Invalid("body", "url");
        Assert.Equal("url_parsing", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Events_and_lengths_are_validated()
    {
        var project = await app.ProjectAsync("wh-events");
        var path = $"/admin/v1/projects/{project.ProjectId}/webhooks";
        await project.Client.PostJson(path, new { url = "https://example.com", events = new[] { "user.deleted", "profile.changed" } }).Invalid("body", "events", 1);
        await project.Client.PostJson(path, new { url = "https://example.com", events = Array.Empty<string>() }).Invalid("body", "events");
        await project.Client.PostJson(path, new { url = "https://example.com" }).Invalid("body", "events");
        await project.Client.PostJson(path, new { events = new[] { "user.deleted" } }).Invalid("body", "url");
        await project.Client.PostJson(path, new { url = "https://example.com/" + new string('a', 2048), events = new[] { "user.deleted" } }).Invalid("body", "url");
        await project.Client.PostJson(path, new { url = "https://example.com", events = new[] { "user.deleted" }, description = new string('d', 501) })
            .Invalid("body", "description");
        await project.Client.GetAsync($"{path}/{Guid.NewGuid()}/deliveries?status=sent").Invalid("query", "status");
        await project.Client.GetAsync($"{path}/{Guid.NewGuid()}/deliveries?limit=0").Invalid("query", "limit");
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://api.localhost/hook")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://172.20.0.5/hook")]
    [InlineData("http://192.168.1.1/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://100.64.0.1/hook")]
    [InlineData("http://0.0.0.0/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[fd00::1]/hook")]
    [InlineData("http://[fe80::1]/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    public void Private_and_loopback_addresses_are_refused_unless_allowed(string url)
    {
        Assert.Contains("webhook_allow_private_urls", WebhookUrls.Check(url, allowPrivate: false));
        Assert.Null(WebhookUrls.Check(url, allowPrivate: true));
    }

    [Theory]
    [InlineData("https://hooks.example.com/memobase")]
    [InlineData("http://93.184.215.14:8080/hook")]
    [InlineData("https://[2606:4700::1111]/hook")]
    public void Public_addresses_and_names_are_accepted(string url) => Assert.Null(WebhookUrls.Check(url, allowPrivate: false));

    [Fact]
    public async Task Without_the_private_option_a_delivery_never_connects_to_a_loopback_address()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { ConnectCallback = WebhookUrls.ConnectPublicAsync });
        foreach (var url in new[] { receiver.Url, receiver.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) })
        {
            var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(url, new StringContent("{}")));
            Assert.Contains("no public address", error.ToString());
        }
        Assert.Empty(receiver.Received);
    }
}
