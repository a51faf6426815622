using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Webhooks;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;
using Memobase.Server.Data;

namespace Memobase.Server.Tests.Webhooks;

/// <summary>Webhooks end to end: real server, real PostgreSQL, the fake LLM, and a real receiver on 127.0.0.1.</summary>
public sealed class WebhookDeliveryTests(WebhookApp app) : IClassFixture<WebhookApp>
{
    [Fact]
    public async Task Flush_completed_is_delivered_once_signed_so_the_standard_webhooks_library_verifies_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var project = await app.ProjectAsync("wh-signed");
        var (webhookId, secret) = await project.CreateWebhookAsync(receiver.Url, WebhookEvents.FlushCompleted);
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);

        var (user, jobId, eventId) = await project.Client.FlushedUserAsync("Hi, I am Gus and I like pizza");
        await WebhookTestKit.Eventually(() => receiver.Accepted.Count == 1, because: "the flush.completed webhook");
        var hook = receiver.Accepted.Single();

        Assert.Equal(WebhookEvents.FlushCompleted, hook.Type);
        Assert.Equal(project.ProjectId, hook.Data["project_id"]!.GetValue<string>());
        Assert.Equal(user.ToString(), hook.Data["user_id"]!.GetValue<string>());
        Assert.Equal(jobId.ToString(), hook.Data["job_id"]!.GetValue<string>());
        Assert.Equal(eventId.ToString(), hook.Data["event_id"]!.GetValue<string>());
        Assert.Equal(FakeOpenAiServer.DefaultFacts.Count, hook.Data["profiles_added"]!.GetValue<int>());
        Assert.Equal(0, hook.Data["profiles_updated"]!.GetValue<int>());
        Assert.Equal(0, hook.Data["profiles_deleted"]!.GetValue<int>());
        var tokens = hook.Data["tokens_used"]!.GetValue<int>();
        Assert.True(tokens > 0);
        Assert.Equal(tokens, hook.Data["prompt_tokens"]!.GetValue<int>() + hook.Data["completion_tokens"]!.GetValue<int>());
        Assert.Equal("application/json; charset=utf-8", hook.Headers.ContentType.ToString());
        Assert.Matches("^msg_[0-9a-f]{32}$", hook.Id);
        Assert.StartsWith("v1,", hook.Signature, StringComparison.Ordinal);
        Assert.InRange(long.Parse(hook.Timestamp), DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        // The receiver's check: the Standard Webhooks library accepts the signature with the endpoint's secret ...
        new StandardWebhook(secret).Verify(hook.Body, hook.Headers);
        // ... and refuses it with any other secret or a changed body.
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(WebhookSigner.NewSecret()).Verify(hook.Body, hook.Headers));
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(secret).Verify(hook.Body.Replace("pizza", "pasta", StringComparison.Ordinal) + " ", hook.Headers));

        var delivery = (await project.DeliveriesAsync(webhookId)).Single()!;
        Assert.Equal(hook.Id, delivery["id"]!.GetValue<string>());
        Assert.Equal("delivered", delivery["status"]!.GetValue<string>());
        Assert.Equal(1, delivery["attempts"]!.GetValue<int>());
        Assert.Equal(200, delivery["last_status_code"]!.GetValue<int>());
        Assert.Equal(WebhookEvents.FlushCompleted, delivery["payload"]!["type"]!.GetValue<string>());

        // Rotation: the test message that follows is signed with the new secret only.
        var rotated = await project.Client.PostAsync($"/admin/v1/projects/{project.ProjectId}/webhooks/{webhookId}/rotate_secret", null).Ok();
        var newSecret = rotated!["secret"]!.GetValue<string>();
        Assert.NotEqual(secret, newSecret);
        var sent = await project.Client.PostAsync($"/admin/v1/projects/{project.ProjectId}/webhooks/{webhookId}/test", null).Ok();
        var testId = sent!["webhook_id"]!.GetValue<string>();
        await WebhookTestKit.Eventually(() => receiver.Accepted.Any(r => r.Id == testId), because: "the test message");
        var test = receiver.Accepted.Single(r => r.Id == testId);
        Assert.Equal(WebhookEvents.Test, test.Type);
        new StandardWebhook(newSecret).Verify(test.Body, test.Headers);
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(secret).Verify(test.Body, test.Headers));
        Assert.Equal(2, receiver.Received.Count);
    }

    [Fact]
    public async Task Flush_failed_and_user_deleted_are_emitted_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var project = await app.ProjectAsync("wh-failed");
        await project.CreateWebhookAsync(receiver.Url, WebhookEvents.FlushFailed, WebhookEvents.UserDeleted);
        // A second endpoint that wants only flush.completed gets none of these.
        await using var other = await WebhookReceiver.StartAsync();
        await project.CreateWebhookAsync(other.Url, WebhookEvents.FlushCompleted);

        const string marker = "webhook-flush-fails";
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) ? FakeReply.Status(500) : FakeReply.Default;
        var user = await project.Client.CreateUserAsync();
        await project.Client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", marker))).Ok();
        await project.Client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Fails(503);
        var jobId = await app.ScalarAsync<Guid>("SELECT id FROM flush_jobs WHERE user_id = $1", user);
        await project.Client.DeleteAsync($"/api/v1/users/{user}").Ok();

        await WebhookTestKit.Eventually(() => receiver.Accepted.Count == 3, because: "two flush.failed and one user.deleted");
        var hooks = receiver.Accepted;
        Assert.Equal([WebhookEvents.FlushFailed, WebhookEvents.FlushFailed, WebhookEvents.UserDeleted], hooks.Select(h => h.Type));
        // job_max_attempts is 2: the first failure is retried, the second is final.
        for (var i = 0; i < 2; i++)
        {
            var data = hooks[i].Data;
            Assert.Equal(user.ToString(), data["user_id"]!.GetValue<string>());
            Assert.Equal(jobId.ToString(), data["job_id"]!.GetValue<string>());
            Assert.Equal("chat", data["blob_type"]!.GetValue<string>());
            Assert.Equal(503, data["errno"]!.GetValue<int>());
            Assert.Contains("500", data["error"]!.GetValue<string>());
            Assert.Equal(i + 1, data["attempts"]!.GetValue<int>());
            Assert.Equal(i == 0, data["will_retry"]!.GetValue<bool>());
        }
        Assert.Equal(user.ToString(), hooks[2].Data["user_id"]!.GetValue<string>());
        Assert.Equal(project.ProjectId, hooks[2].Data["project_id"]!.GetValue<string>());
        Assert.Equal(3, hooks.Select(h => h.Id).Distinct().Count());
        Assert.Empty(other.Received);
    }

    [Fact]
    public async Task A_receiver_that_is_down_gets_each_event_once_per_webhook_id_after_it_recovers()
    {
        await using var receiver = await WebhookReceiver.StartAsync(listening: false);
        var project = await app.ProjectAsync("wh-down");
        var (webhookId, secret) = await project.CreateWebhookAsync(receiver.Url, WebhookEvents.FlushCompleted, WebhookEvents.UserDeleted);

        var users = new List<Guid>();
        for (var i = 0; i < 3; i++) users.Add((await project.Client.FlushedUserAsync($"down receiver user {i}")).User);
        await project.Client.DeleteAsync($"/api/v1/users/{users[0]}").Ok();

        // Every flush.completed has been tried and refused (connection refused) while the receiver is down; the
        // user.deleted waits behind its user's flush.completed and is not tried at all.
        await LlmApp.Eventually(async () => await app.ScalarAsync<long>(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND event_type = 'flush.completed' AND status = 'pending' " +
            "AND attempts >= 2 AND last_error LIKE '%refused%'", webhookId) == 3);
        Assert.Equal(0, await app.ScalarAsync<int>("SELECT attempts FROM webhook_deliveries WHERE endpoint_id = $1 AND event_type = 'user.deleted'", webhookId));
        Assert.Empty(receiver.Received);

        await receiver.StartListeningAsync();
        await LlmApp.Eventually(async () => await app.ScalarAsync<long>(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'", webhookId) == 4, because: "all four delivered");

        var deliveries = await project.DeliveriesAsync(webhookId);
        var ids = deliveries.Select(d => d!["id"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(ids, receiver.Received.Select(r => r.Id).Order().ToList());   // each exactly once
        Assert.All(deliveries, d => Assert.True(d!["attempts"]!.GetValue<int>() >= (d["event_type"]!.GetValue<string>() == WebhookEvents.UserDeleted ? 1 : 3)));
        Assert.All(receiver.Received, r => new StandardWebhook(secret).Verify(r.Body, r.Headers));
        // Per user, in the order written: the deleted user's flush.completed before its user.deleted.
        var first = receiver.Received.Where(r => r.Data["user_id"]!.GetValue<string>() == users[0].ToString()).Select(r => r.Type).ToList();
        Assert.Equal([WebhookEvents.FlushCompleted, WebhookEvents.UserDeleted], first);
    }

    [Fact]
    public async Task A_newer_message_for_the_same_user_waits_while_an_older_one_is_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var refusals = 0;
        receiver.Answer = r => r.Type == WebhookEvents.FlushCompleted && Interlocked.Increment(ref refusals) <= 3 ? 503 : 200;
        var project = await app.ProjectAsync("wh-order");
        await project.CreateWebhookAsync(receiver.Url, WebhookEvents.FlushCompleted, WebhookEvents.UserDeleted);

        var (user, _, _) = await project.Client.FlushedUserAsync("ordered user");
        await project.Client.DeleteAsync($"/api/v1/users/{user}").Ok();

        await WebhookTestKit.Eventually(() => receiver.Accepted.Count == 2, because: "both messages accepted");
        // Three refused flush.completed attempts, then flush.completed accepted, and only then user.deleted is sent at all.
        Assert.Equal(
            [(WebhookEvents.FlushCompleted, 503), (WebhookEvents.FlushCompleted, 503), (WebhookEvents.FlushCompleted, 503),
             (WebhookEvents.FlushCompleted, 200), (WebhookEvents.UserDeleted, 200)],
            receiver.Received.Select(r => (r.Type, r.AnsweredStatus)));
        Assert.Single(receiver.Received.Take(4).Select(r => r.Id).Distinct());
    }
}
