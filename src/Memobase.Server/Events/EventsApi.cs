using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Events;

/// <summary>Request body of event update (upstream's EventData; documentation shape, the handler parses JSON itself).</summary>
public sealed record EventDataRequest(JsonElement? ProfileDelta = null, string? EventTip = null, JsonElement? EventTags = null);

public static class EventsApi
{
    public static RouteGroupBuilder MapEvents(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users").WithTags("event");

        group.MapGet("/event/{user_id}", GetEvents)
            .WithName("get_user_events_api_v1_users_event__user_id__get")
            .WithSummary("Get User Events")
            .WithDescription("The user's events of the last 21 days, newest first: at most topk (default 10), then cut where the " +
                             "running o200k token count of the events' text exceeds max_token_size. need_summary is accepted and ignored. " +
                             "data.gists is always [].")
            .ProducesValidationProblem422();
        group.MapPut("/event/{user_id}/{event_id}", UpdateEvent)
            .WithName("update_user_event_api_v1_users_event__user_id___event_id__put")
            .WithSummary("Update User Event")
            .WithDescription("Shallow merge: each non-null top-level key of the body (profile_delta, event_tip, event_tags) replaces " +
                             "the stored one. Embedding and gists are not recomputed. Unknown event → errno 404.")
            .Accepts<EventDataRequest>("application/json")
            .ProducesValidationProblem422();
        group.MapDelete("/event/{user_id}/{event_id}", DeleteEvent)
            .WithName("delete_user_event_api_v1_users_event__user_id___event_id__delete")
            .WithSummary("Delete User Event")
            .WithDescription("Delete the event and its gists. Unknown event → errno 404.")
            .ProducesValidationProblem422();
        group.MapGet("/event/search/{user_id}", SearchEvents)
            .WithName("search_user_events_api_v1_users_event_search__user_id__get")
            .WithSummary("Search User Events")
            .WithDescription("Vector search: embeds query and returns at most topk events created within time_range_in_days whose " +
                             "cosine similarity is above similarity_threshold, best first. Embeddings disabled → errno 501; " +
                             "embedding API failure → errno 503; search not finished within search_timeout_ms → errno 504.")
            .ProducesValidationProblem422();
        group.MapGet("/event_gist/search/{user_id}", SearchEventGists)
            .WithName("search_user_event_gists_api_v1_users_event_gist_search__user_id__get")
            .WithSummary("Search User Event Gists")
            .WithDescription("Like event search, over event gists (one line of an event tip each). data carries both gists and " +
                             "events (always []), because the TypeScript and Go SDKs read events.")
            .ProducesValidationProblem422();
        group.MapGet("/event_tags/search/{user_id}", SearchEventsByTags)
            .WithName("search_user_events_by_tags_api_v1_users_event_tags_search__user_id__get")
            .WithSummary("Search User Events By Tags")
            .WithDescription("Events whose event_tags contain every tag named in tags (comma-separated) and every tag=value pair " +
                             "in tag_values (comma-separated; pairs without '=' are ignored), newest first, at most topk. " +
                             "Without filters: the newest topk events.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<UserEventsData>>, UnprocessableEntity<HttpValidationError>>> GetEvents(
        Guid user_id, Caller caller, EventService events, CancellationToken ct, int topk = EventService.DefaultTopK, int? max_token_size = null,
        Flag? need_summary = null)
    {
        if (topk < 0) return NotNegative("topk", topk);
        return Api.Ok(await events.RecentAsync(caller.ProjectId, user_id, topk, max_token_size, ct));
    }

    public static async Task<Results<Ok<ApiResponse<object>>, UnprocessableEntity<HttpValidationError>>> UpdateEvent(
        Guid user_id, Guid event_id, JsonElement body, Caller caller, EventStore store, CancellationToken ct)
    {
        var (patch, errors) = BuildPatch(body);
        if (errors.Count > 0) return Validation.Problem(errors);
        var updated = await store.UpdateAsync(caller.ProjectId, user_id, event_id, patch!.ToJsonString(), ct);
        return updated ? Api.Done() : Api.Fail<object>(EventService.NotFound(event_id));
    }

    public static async Task<Ok<ApiResponse<object>>> DeleteEvent(Guid user_id, Guid event_id, Caller caller, EventStore store, CancellationToken ct)
    {
        var deleted = await store.DeleteAsync(caller.ProjectId, user_id, event_id, ct);
        return deleted ? Api.Done() : Api.Fail<object>(EventService.NotFound(event_id));
    }

    public static async Task<Results<Ok<ApiResponse<UserEventsData>>, UnprocessableEntity<HttpValidationError>>> SearchEvents(
        Guid user_id, string query, Caller caller, EventService events, CancellationToken ct, int topk = EventService.DefaultTopK,
        double similarity_threshold = EventService.DefaultSimilarityThreshold, int time_range_in_days = EventService.DefaultSearchDays)
    {
        if (topk < 0) return NotNegative("topk", topk);
        var (data, failure) = await events.SearchEventsAsync(caller.ProjectId, user_id, query, topk, similarity_threshold, time_range_in_days, ct);
        return failure is not null ? Api.Fail<UserEventsData>(failure) : Api.Ok(data!);
    }

    public static async Task<Results<Ok<ApiResponse<UserEventGistsData>>, UnprocessableEntity<HttpValidationError>>> SearchEventGists(
        Guid user_id, string query, Caller caller, EventService events, CancellationToken ct, int topk = EventService.DefaultTopK,
        double similarity_threshold = EventService.DefaultSimilarityThreshold, int time_range_in_days = EventService.DefaultSearchDays)
    {
        if (topk < 0) return NotNegative("topk", topk);
        var (data, failure) = await events.SearchGistsAsync(caller.ProjectId, user_id, query, topk, similarity_threshold, time_range_in_days, ct);
        return failure is not null ? Api.Fail<UserEventGistsData>(failure) : Api.Ok(data!);
    }

    public static async Task<Results<Ok<ApiResponse<UserEventsData>>, UnprocessableEntity<HttpValidationError>>> SearchEventsByTags(
        Guid user_id, Caller caller, EventStore store, CancellationToken ct, string? tags = null, string? tag_values = null, int topk = EventService.DefaultTopK)
    {
        if (topk < 0) return NotNegative("topk", topk);
        var rows = await store.SearchByTagsAsync(caller.ProjectId, user_id, TagContainment(tags, tag_values), topk, ct);
        return Api.Ok(new UserEventsData(rows.Select(UserEventData.From).ToList(), []));
    }


    /// <summary>
    /// One JSONB containment list for all conditions (AND): <c>{"tag": t}</c> per name in <paramref name="tags"/> and
    /// <c>{"tag": t, "value": v}</c> per pair in <paramref name="tagValues"/> (a repeated tag keeps its last value, as
    /// upstream's dict). Null when there is no condition.
    /// </summary>
    internal static string? TagContainment(string? tags, string? tagValues)
    {
        var list = new JsonArray();
        if (!string.IsNullOrEmpty(tags))
        {
            foreach (var tag in tags.Split(',').Select(t => t.Trim()).Where(t => t.Length > 0)) list.Add(new JsonObject { ["tag"] = tag });
        }
        if (!string.IsNullOrEmpty(tagValues))
        {
            var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in tagValues.Split(','))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0) continue;
                pairs[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
            }
            foreach (var (tag, value) in pairs) list.Add(new JsonObject { ["tag"] = tag, ["value"] = value });
        }
        return list.Count == 0 ? null : list.ToJsonString();
    }

    /// <summary>
    /// Validates an EventData body and returns the merge patch: only the non-null keys among profile_delta, event_tip and
    /// event_tags, normalised to upstream's shapes (<c>{content, attributes}</c>, <c>{tag, value}</c>); other keys are dropped.
    /// </summary>
    internal static (JsonObject? Patch, List<ValidationError> Errors) BuildPatch(JsonElement body)
    {
        var errors = new List<ValidationError>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new ValidationError(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type"));
            return (null, errors);
        }
        var patch = new JsonObject();

        if (body.TryGetProperty("profile_delta", out var delta) && delta.ValueKind != JsonValueKind.Null)
        {
            if (delta.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new ValidationError(["body", "profile_delta"], "Input should be a valid list", "list_type"));
            }
            else
            {
                var items = new JsonArray();
                var i = 0;
                foreach (var item in delta.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(new ValidationError(["body", "profile_delta", i], "Input should be a valid dictionary", "dict_type"));
                    }
                    else
                    {
                        var hasContent = item.TryGetProperty("content", out var content);
                        var hasAttributes = item.TryGetProperty("attributes", out var attributes);
                        if (!hasContent) errors.Add(Validation.Missing("body", "profile_delta", i, "content"));
                        else if (content.ValueKind != JsonValueKind.String)
                        {
                            errors.Add(new ValidationError(["body", "profile_delta", i, "content"], "Input should be a valid string", "string_type"));
                        }
                        if (!hasAttributes) errors.Add(Validation.Missing("body", "profile_delta", i, "attributes"));
                        else if (attributes.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                        {
                            errors.Add(new ValidationError(["body", "profile_delta", i, "attributes"], "Input should be a valid dictionary", "dict_type"));
                        }
                        if (hasContent && hasAttributes)
                        {
                            items.Add(new JsonObject { ["content"] = JsonNode.Parse(content.GetRawText()), ["attributes"] = JsonNode.Parse(attributes.GetRawText()) });
                        }
                    }
                    i++;
                }
                patch["profile_delta"] = items;
            }
        }

        if (body.TryGetProperty("event_tip", out var tip) && tip.ValueKind != JsonValueKind.Null)
        {
            if (tip.ValueKind != JsonValueKind.String) errors.Add(new ValidationError(["body", "event_tip"], "Input should be a valid string", "string_type"));
            else patch["event_tip"] = tip.GetString();
        }

        if (body.TryGetProperty("event_tags", out var tags) && tags.ValueKind != JsonValueKind.Null)
        {
            if (tags.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new ValidationError(["body", "event_tags"], "Input should be a valid list", "list_type"));
            }
            else
            {
                var items = new JsonArray();
                var i = 0;
                foreach (var item in tags.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(new ValidationError(["body", "event_tags", i], "Input should be a valid dictionary", "dict_type"));
                    }
                    else
                    {
                        var ok = true;
                        foreach (var name in (string[])["tag", "value"])
                        {
                            if (!item.TryGetProperty(name, out var v))
                            {
                                errors.Add(Validation.Missing("body", "event_tags", i, name));
                                ok = false;
                            }
                            else if (v.ValueKind != JsonValueKind.String)
                            {
                                errors.Add(new ValidationError(["body", "event_tags", i, name], "Input should be a valid string", "string_type"));
                                ok = false;
                            }
                        }
                        if (ok) items.Add(new JsonObject { ["tag"] = item.GetProperty("tag").GetString(), ["value"] = item.GetProperty("value").GetString() });
                    }
                    i++;
                }
                patch["event_tags"] = items;
            }
        }
        return (errors.Count == 0 ? patch : null, errors);
    }

    private static UnprocessableEntity<HttpValidationError> NotNegative(string name, int value)
        => Validation.Problem(["query", name], "Input should be greater than or equal to 0", "greater_than_equal", value);
}
