using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Webhooks;

/// <summary>
/// A server with the fake LLM whose webhook delivery retries fast and may call 127.0.0.1 (the test receivers).
/// Attempts are plentiful (a receiver that is down for a while still gets everything); nothing is disabled.
/// </summary>
public class WebhookApp : LlmApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("webhook_allow_private_urls", "true");
        With("webhook_poll_seconds", "0.1");
        With("webhook_timeout_seconds", "5");
        With("webhook_retry_base_delay_seconds", "0.1");
        With("webhook_retry_max_delay_seconds", "0.5");
        With("webhook_max_attempts", "100");
        With("webhook_disable_after_failures", "0");
    }
}

/// <summary>Like <see cref="WebhookApp"/>, but a delivery fails for good after 2 attempts and 2 such failures disable the endpoint.</summary>
public sealed class StrictWebhookApp : WebhookApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("webhook_max_attempts", "2");
        With("webhook_disable_after_failures", "2");
    }
}

public sealed record WebhookProject(string ProjectId, HttpClient Client, string Token);

public static class WebhookTestKit
{
    /// <summary>A fresh project and a client with its token (each test gets its own, so no other test's events reach its webhooks).</summary>
    public static async Task<WebhookProject> ProjectAsync(this MemobaseApp app, string prefix)
    {
        var id = $"{prefix}-{Guid.NewGuid():N}";
        id = id[..Math.Min(40, id.Length)];
        var created = await app.Client().PostJson("/admin/v1/projects", new { project_id = id }).Ok();
        var token = created!["token"]!.GetValue<string>();
        return new WebhookProject(id, app.Client(token), token);
    }

    public static async Task<(Guid Id, string Secret)> CreateWebhookAsync(this WebhookProject project, string url, params string[] events)
    {
        var created = await project.Client.PostJson($"/admin/v1/projects/{project.ProjectId}/webhooks", new { url, events }).Ok();
        return (Guid.Parse(created!["id"]!.GetValue<string>()), created["secret"]!.GetValue<string>());
    }

    /// <summary>Inserts one chat message for a new user and flushes it, waiting for the result.</summary>
    public static async Task<(Guid User, Guid JobId, Guid EventId)> FlushedUserAsync(this HttpClient client, string text)
    {
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", text))).Ok();
        using var flush = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null);
        var body = await flush.Json();
        Assert.True(body["errno"]!.GetValue<int>() == 0, body.ToJsonString());
        var jobId = Guid.Parse(flush.Headers.GetValues("X-Memobase-Job-Id").Single());
        return (user, jobId, Guid.Parse(body["data"]!.AsArray().Single()!["event_id"]!.GetValue<string>()));
    }

    public static async Task<JsonArray> DeliveriesAsync(this WebhookProject project, Guid webhookId)
        => (await project.Client.GetAsync($"/admin/v1/projects/{project.ProjectId}/webhooks/{webhookId}/deliveries?limit=1000").Ok())!.AsArray();

    public static Task Eventually(Func<bool> condition, double seconds = 30, string? because = null)
        => LlmApp.Eventually(() => Task.FromResult(condition()), seconds, because);

    public static HttpClient WithToken(this HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
