using System.ComponentModel.DataAnnotations;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Memobase.Server.Data;
using Memobase.Server.Projects;

namespace Memobase.Server.Webhooks;

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Description = null);

/// <summary>PATCH body: only the fields given change; <c>description: ""</c> clears the description.</summary>
public sealed record UpdateWebhookRequest(string? Url = null, IReadOnlyList<string>? Events = null, string? Description = null, bool? Enabled = null);

public sealed record WebhookTestSent(string WebhookId, Guid EndpointId);

/// <summary>
/// A project's webhooks: <c>/admin/v1/projects/{project_id}/webhooks</c>, for the root token or the project's own token
/// (the <see cref="MemobaseAuth.ProjectOrRoot"/> policy).
/// </summary>
public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/v1/projects/{project_id}/webhooks").WithTags("webhooks");
        group.MapPost("", CreateWebhook).WithName("createWebhook").WithSummary("Create Webhook")
            .WithDescription("Register an endpoint for events (flush.completed, flush.failed, user.deleted). The answer carries the signing " +
                             "secret (whsec_...), shown only here and when rotated.")
            .ProducesValidationProblem422();
        group.MapGet("", ListWebhooks).WithName("listWebhooks").WithSummary("List Webhooks")
            .WithDescription("The project's webhook endpoints, oldest first, with enabled state and the reason when disabled (no secrets).")
            .ProducesValidationProblem422();
        group.MapGet("/{webhook_id:guid}", GetWebhook).WithName("getWebhook").WithSummary("Get Webhook")
            .WithDescription("One webhook endpoint (no secret).").ProducesValidationProblem422();
        group.MapPatch("/{webhook_id:guid}", UpdateWebhook).WithName("updateWebhook").WithSummary("Update Webhook")
            .WithDescription("Change url, events, description or enabled; omitted fields stay. Enabling a disabled endpoint resets its failure count; " +
                             "its pending deliveries then go out.")
            .ProducesValidationProblem422();
        group.MapDelete("/{webhook_id:guid}", DeleteWebhook).WithName("deleteWebhook").WithSummary("Delete Webhook")
            .WithDescription("Delete the endpoint and its deliveries (pending ones are not sent).").ProducesValidationProblem422();
        group.MapPost("/{webhook_id:guid}/rotate_secret", RotateSecret).WithName("rotateWebhookSecret").WithSummary("Rotate Webhook Secret")
            .WithDescription("Issue a new signing secret; every later attempt is signed with it.").ProducesValidationProblem422();
        group.MapGet("/{webhook_id:guid}/deliveries", ListDeliveries).WithName("listWebhookDeliveries").WithSummary("List Webhook Deliveries")
            .WithDescription("The endpoint's deliveries, newest first: status (pending|delivered|failed), attempts, last HTTP status code and error.")
            .ProducesValidationProblem422();
        group.MapPost("/{webhook_id:guid}/test", SendTest).WithName("sendWebhookTest").WithSummary("Send Test Webhook")
            .WithDescription("Queue a webhook.test message to this endpoint; its delivery shows in the delivery list.").ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<WebhookInfo>>, UnprocessableEntity<HttpValidationError>>> CreateWebhook(
        string project_id, CreateWebhookRequest body, WebhookStore store, ProjectStore projects, IOptionsMonitor<WebhookOptions> options, CancellationToken ct)
    {
        if (body.Url is null) return Validation.Problem([Validation.Missing("body", "url")]);
        if (body.Events is null) return Validation.Problem([Validation.Missing("body", "events")]);
        if (Check(body.Url, body.Events, body.Description, options.CurrentValue) is { } invalid) return invalid;
        if (!await projects.ExistsAsync(project_id, ct)) return Api.Fail<WebhookInfo>(ProjectNotFound(project_id));
        var (created, failure) = await store.CreateAsync(project_id, body.Url, Distinct(body.Events), body.Description, ct);
        return created is null ? Api.Fail<WebhookInfo>(failure!) : Api.Ok(created);
    }

    public static async Task<Ok<ApiResponse<IReadOnlyList<WebhookInfo>>>> ListWebhooks(string project_id, WebhookStore store, ProjectStore projects, CancellationToken ct)
        => await projects.ExistsAsync(project_id, ct)
            ? Api.Ok(await store.ListAsync(project_id, ct))
            : Api.Fail<IReadOnlyList<WebhookInfo>>(ProjectNotFound(project_id));

    public static async Task<Ok<ApiResponse<WebhookInfo>>> GetWebhook(string project_id, Guid webhook_id, WebhookStore store, CancellationToken ct)
        => await store.GetAsync(project_id, webhook_id, ct) is { } webhook ? Api.Ok(webhook) : Api.Fail<WebhookInfo>(WebhookStore.NotFound(webhook_id));

    public static async Task<Results<Ok<ApiResponse<WebhookInfo>>, UnprocessableEntity<HttpValidationError>>> UpdateWebhook(
        string project_id, Guid webhook_id, UpdateWebhookRequest body, WebhookStore store, IOptionsMonitor<WebhookOptions> options, CancellationToken ct)
    {
        if (Check(body.Url, body.Events, body.Description, options.CurrentValue) is { } invalid) return invalid;
        var changes = new WebhookChanges(body.Url, body.Events is null ? null : Distinct(body.Events), body.Description, body.Enabled);
        return await store.UpdateAsync(project_id, webhook_id, changes, ct) is { } updated
            ? Api.Ok(updated)
            : Api.Fail<WebhookInfo>(WebhookStore.NotFound(webhook_id));
    }

    public static async Task<Ok<ApiResponse<object>>> DeleteWebhook(string project_id, Guid webhook_id, WebhookStore store, CancellationToken ct)
        => await store.DeleteAsync(project_id, webhook_id, ct) ? Api.Done() : Api.Fail<object>(WebhookStore.NotFound(webhook_id));

    public static async Task<Ok<ApiResponse<WebhookInfo>>> RotateSecret(string project_id, Guid webhook_id, WebhookStore store, CancellationToken ct)
        => await store.RotateSecretAsync(project_id, webhook_id, ct) is { } rotated
            ? Api.Ok(rotated)
            : Api.Fail<WebhookInfo>(WebhookStore.NotFound(webhook_id));

    public static async Task<Results<Ok<ApiResponse<IReadOnlyList<WebhookDeliveryInfo>>>, UnprocessableEntity<HttpValidationError>>> ListDeliveries(
        string project_id, Guid webhook_id, WebhookStore store, CancellationToken ct, string? status = null, [Range(1, 1000)] int limit = 50)
    {
        if (status is not null && Array.IndexOf(WebhookDeliveryStatus.All, status) < 0)
        {
            return Validation.Problem([Validation.InvalidEnum("query", "status", status, WebhookDeliveryStatus.All)]);
        }
        return await store.DeliveriesAsync(project_id, webhook_id, status, limit, ct) is { } deliveries
            ? Api.Ok(deliveries)
            : Api.Fail<IReadOnlyList<WebhookDeliveryInfo>>(WebhookStore.NotFound(webhook_id));
    }

    public static async Task<Ok<ApiResponse<WebhookTestSent>>> SendTest(string project_id, Guid webhook_id, WebhookStore store, CancellationToken ct)
        => await store.SendTestAsync(project_id, webhook_id, ct) is { } messageId
            ? Api.Ok(new WebhookTestSent(messageId, webhook_id))
            : Api.Fail<WebhookTestSent>(WebhookStore.NotFound(webhook_id));

    /// <summary>Checks the fields that are given (null: absent).</summary>
    private static UnprocessableEntity<HttpValidationError>? Check(string? url, IReadOnlyList<string>? events, string? description, WebhookOptions options)
    {
        if (url is not null && WebhookUrls.Check(url, options.AllowPrivateUrls) is { } urlError)
        {
            return Validation.Problem(["body", "url"], urlError, "url_parsing", url);
        }
        if (events is not null)
        {
            if (events.Count == 0) return Validation.Problem(["body", "events"], "List should have at least 1 item after validation, not 0", "too_short");
            for (var i = 0; i < events.Count; i++)
            {
                if (Array.IndexOf(WebhookEvents.Subscribable, events[i]) < 0)
                {
                    return Validation.Problem([Validation.InvalidEnum("body", "events", events[i], WebhookEvents.Subscribable) with { Loc = ["body", "events", i] }]);
                }
            }
        }
        if (description is not null && description.Length > WebhookModel.MaxDescriptionLength)
        {
            return Validation.Problem(["body", "description"], $"String should have at most {WebhookModel.MaxDescriptionLength} characters", "string_too_long");
        }
        return null;
    }

    private static string[] Distinct(IReadOnlyList<string> events) => events.Distinct(StringComparer.Ordinal).ToArray();

    private static Failure ProjectNotFound(string projectId) => Failure.NotFound($"Project {projectId} not found");
}
