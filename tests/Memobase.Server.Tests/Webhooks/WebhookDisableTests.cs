using System.Net.Http.Json;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Webhooks;
using Memobase.Server.Data;

namespace Memobase.Server.Tests.Webhooks;

/// <summary>An endpoint that keeps failing is disabled (2 attempts per delivery, 2 failed deliveries in a row).</summary>
public sealed class WebhookDisableTests(StrictWebhookApp app) : IClassFixture<StrictWebhookApp>
{
    [Fact]
    public async Task An_endpoint_that_keeps_failing_is_disabled_with_a_reason_and_can_be_enabled_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => 500;
        var project = await app.ProjectAsync("wh-disable");
        var (webhookId, _) = await project.CreateWebhookAsync(receiver.Url, WebhookEvents.UserDeleted);
        var path = $"/admin/v1/projects/{project.ProjectId}/webhooks/{webhookId}";

        var first = await project.Client.CreateUserAsync();
        var second = await project.Client.CreateUserAsync();
        await project.Client.DeleteAsync($"/api/v1/users/{first}").Ok();
        await project.Client.DeleteAsync($"/api/v1/users/{second}").Ok();

        await LlmApp.Eventually(async () => (await project.Client.GetAsync(path).Ok())!["enabled"]!.GetValue<bool>() == false,
            because: "the endpoint is disabled");
        var webhook = (await project.Client.GetAsync(path).Ok())!;
        Assert.Contains("2 failed deliveries in a row", webhook["disabled_reason"]!.GetValue<string>());
        Assert.Contains("HTTP 500", webhook["disabled_reason"]!.GetValue<string>());
        Assert.Equal(2, webhook["consecutive_failures"]!.GetValue<int>());
        Assert.Null(webhook["secret"]);
        var deliveries = await project.DeliveriesAsync(webhookId);
        Assert.Equal(2, deliveries.Count);
        Assert.All(deliveries, d =>
        {
            Assert.Equal("failed", d!["status"]!.GetValue<string>());
            Assert.Equal(2, d["attempts"]!.GetValue<int>());
            Assert.Equal(500, d["last_status_code"]!.GetValue<int>());
            Assert.Equal("HTTP 500", d["last_error"]!.GetValue<string>());
        });
        Assert.Equal(4, receiver.Received.Count);

        // Disabled: new events are not queued for it.
        var third = await project.Client.CreateUserAsync();
        await project.Client.DeleteAsync($"/api/v1/users/{third}").Ok();
        Assert.Equal(2, (await project.DeliveriesAsync(webhookId)).Count);

        // The operator fixes the receiver and enables the endpoint again: its count and reason are reset.
        receiver.Answer = _ => 204;
        var enabled = (await project.Client.PatchAsync(path, JsonContent.Create(new { enabled = true })).Ok())!;
        Assert.True(enabled["enabled"]!.GetValue<bool>());
        Assert.Null(enabled["disabled_reason"]);
        Assert.Equal(0, enabled["consecutive_failures"]!.GetValue<int>());
        var fourth = await project.Client.CreateUserAsync();
        await project.Client.DeleteAsync($"/api/v1/users/{fourth}").Ok();
        await WebhookTestKit.Eventually(() => receiver.Accepted.Count == 1, because: "delivery after re-enabling");
        Assert.Equal(fourth.ToString(), receiver.Accepted.Single().Data["user_id"]!.GetValue<string>());

        // Disabling through the API says so.
        var disabled = (await project.Client.PatchAsync(path, JsonContent.Create(new { enabled = false })).Ok())!;
        Assert.Equal(WebhookStore.DisabledThroughApi, disabled["disabled_reason"]!.GetValue<string>());
    }
}
