using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Idempotency;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Profiles;

/// <summary>Request body of profile add/update (upstream's ProfileDelta; documentation shape, the handlers parse JSON themselves).</summary>
public sealed record ProfileDeltaRequest(string Content, JsonElement? Attributes);

/// <summary>Request body of profile import (upstream's UserContextImport).</summary>
public sealed record ProfileImportRequest(string Context);

public static class ProfilesApi
{
    public static RouteGroupBuilder MapProfiles(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users/profile").WithTags("profile");

        group.MapGet("/{user_id}", GetProfiles)
            .WithName("get_user_profile_api_v1_users_profile__user_id__get")
            .WithSummary("Get User Profile")
            .WithDescription("The user's profiles, newest first, then: prefer_topics (repeatable) move to the front; only_topics " +
                             "(repeatable) filter; max_subtopic_size and topic_limits_json (JSON object topic → limit, overrides " +
                             "max_subtopic_size; the TypeScript SDK's topic_limits is accepted too) cap each topic; topk keeps the " +
                             "first N; max_token_size cuts by o200k tokens of 'topic::sub_topic: content' but always keeps one. " +
                             "With chats_str (JSON list of messages) an LLM first keeps the profiles relevant to the latest chats " +
                             "(on LLM failure all profiles are used). Bad JSON → errno 400.")
            .ProducesValidationProblem422();
        group.MapPost("/{user_id}", AddProfile)
            .WithName("add_user_profile_api_v1_users_profile__user_id__post")
            .WithSummary("Add User Profile")
            .WithDescription("Add one profile. attributes must hold string topic and sub_topic (else errno 520); they are stored as given.")
            .Accepts<ProfileDeltaRequest>("application/json")
            .ProducesValidationProblem422()
            .WithIdempotency();
        group.MapPost("/import/{user_id}", ImportProfile)
            .WithName("import_user_context_api_v1_users_profile_import__user_id__post")
            .WithSummary("Import User Context")
            .WithDescription("Turn free text into memory, as upstream: checks the quota (errno 503), flushes the user's chat buffer " +
                             "and waits for it, inserts the text as one user chat message (\"Below is my information, please remember " +
                             "them:\n<context>\n\") and flushes again, waiting for the result. data is null; a failed flush answers its errno.")
            .Accepts<ProfileImportRequest>("application/json")
            .ProducesValidationProblem422()
            .WithIdempotency();
        group.MapPut("/{user_id}/{profile_id}", UpdateProfile)
            .WithName("update_user_profile_api_v1_users_profile__user_id___profile_id__put")
            .WithSummary("Update User Profile")
            .WithDescription("Set the profile's content, and its attributes when not null. An unknown profile id is silently skipped (as upstream).")
            .Accepts<ProfileDeltaRequest>("application/json")
            .ProducesValidationProblem422();
        group.MapDelete("/{user_id}/{profile_id}", DeleteProfile)
            .WithName("delete_user_profile_api_v1_users_profile__user_id___profile_id__delete")
            .WithSummary("Delete User Profile")
            .WithDescription("Delete one profile entry. Missing: errno 404.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<ProfilesData>>, UnprocessableEntity<HttpValidationError>>> GetProfiles(
        Guid user_id, Caller caller, ProfileService profiles, CancellationToken ct,
        int? topk = null, int? max_token_size = null, string[]? prefer_topics = null, string[]? only_topics = null,
        int? max_subtopic_size = null, string? topic_limits_json = null, string? topic_limits = null, string? chats_str = null)
    {
        if (topk < 0) return Validation.Problem(["query", "topk"], "Input should be greater than or equal to 0", "greater_than_equal", topk);
        if (!ProfileQuery.TryParseTopicLimits(string.IsNullOrEmpty(topic_limits_json) ? topic_limits : topic_limits_json, out var limits, out var error)
            || !ProfileQuery.TryParseChats(chats_str, out var chats, out error))
        {
            return Api.Fail<ProfilesData>(Errno.BadRequest, $"Invalid JSON requests: {error}");
        }

        var kept = await profiles.GetAsync(caller.ProjectId, user_id,
            new ProfileTruncation(prefer_topics, only_topics, max_subtopic_size, limits, topk, max_token_size), chats, ct);
        return Api.Ok(new ProfilesData(kept.Select(p => p.ToData()).ToList()));
    }

    public static async Task<Results<Ok<ApiResponse<IdData>>, UnprocessableEntity<HttpValidationError>>> AddProfile(
        Guid user_id, JsonElement body, Caller caller, ProfileStore store, RequestTransaction shared, CancellationToken ct)
    {
        if (ParseDelta(body) is not { } delta) return InvalidDelta(body);
        var (id, failure) = await store.AddAsync(caller.ProjectId, user_id, delta.Content, delta.Attributes, shared, ct);
        return failure is not null ? Api.Fail<IdData>(failure) : Api.Ok(new IdData(id!.Value));
    }

    public static async Task<Results<Ok<ApiResponse<object>>, UnprocessableEntity<HttpValidationError>>> ImportProfile(
        Guid user_id, JsonElement body, Caller caller, ProfileImporter importer, RequestTransaction shared, CancellationToken ct)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Validation.Problem(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
        }
        if (!body.TryGetProperty("context", out var context) || context.ValueKind == JsonValueKind.Null)
        {
            return Validation.Problem([Validation.Missing("body", "context")]);
        }
        if (context.ValueKind != JsonValueKind.String)
        {
            return Validation.Problem(["body", "context"], "Input should be a valid string", "string_type");
        }
        return await importer.ImportAsync(caller, user_id, context.GetString()!, shared, ct) is { } failure ? Api.Fail<object>(failure) : Api.Done();
    }

    public static async Task<Results<Ok<ApiResponse<object>>, UnprocessableEntity<HttpValidationError>>> UpdateProfile(
        Guid user_id, Guid profile_id, JsonElement body, Caller caller, ProfileStore store, CancellationToken ct)
    {
        if (ParseDelta(body) is not { } delta) return InvalidDelta(body);
        // An unknown profile is still a success, as upstream.
        await store.UpdateAsync(caller.ProjectId, user_id, profile_id, delta.Content, delta.Attributes, null, ct);
        return Api.Done();
    }

    public static async Task<Ok<ApiResponse<object>>> DeleteProfile(
        Guid user_id, Guid profile_id, Caller caller, ProfileStore profiles, CancellationToken ct)
        => await profiles.DeleteAsync(caller.ProjectId, user_id, profile_id, ct)
            ? Api.Done()
            : Api.Fail<object>(ProfileService.NotFound(profile_id, user_id));

    private sealed record Delta(string Content, JsonElement? Attributes);

    /// <summary>ProfileDelta: <c>content</c> string (required), <c>attributes</c> object or null (key required).</summary>
    private static Delta? ParseDelta(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) return null;
        if (!body.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String) return null;
        if (!body.TryGetProperty("attributes", out var attributes) || attributes.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)) return null;
        return new Delta(content.GetString()!, attributes.ValueKind == JsonValueKind.Object ? attributes : null);
    }

    private static UnprocessableEntity<HttpValidationError> InvalidDelta(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Validation.Problem(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
        }
        var errors = new List<ValidationError>();
        if (!body.TryGetProperty("content", out var content)) errors.Add(Validation.Missing("body", "content"));
        else if (content.ValueKind != JsonValueKind.String) errors.Add(new ValidationError(["body", "content"], "Input should be a valid string", "string_type"));
        if (!body.TryGetProperty("attributes", out var attributes)) errors.Add(Validation.Missing("body", "attributes"));
        else if (attributes.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            errors.Add(new ValidationError(["body", "attributes"], "Input should be a valid dictionary", "dict_type"));
        }
        return Validation.Problem(errors);
    }
}
