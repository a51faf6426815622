using Memobase.Server.Infrastructure;
using Memobase.Server.Profiles;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Context;

public static class ContextApi
{
    public static RouteGroupBuilder MapContext(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users/context").WithTags("context");

        group.MapGet("/{user_id}", GetContext)
            .WithName("get_user_context_api_v1_users_context__user_id__get")
            .WithSummary("Get User Context")
            .WithDescription(
                "A ready-to-use memory prompt of at most max_token_size (default 1000) o200k tokens. profile_event_ratio " +
                "(default 0.6, must be in (0, 1], else errno 400) of the budget goes to profiles — selected with prefer_topics, " +
                "only_topics (both repeatable), max_subtopic_size and topic_limits_json (alias topic_limits) as in GET profile — " +
                "and the rest to event gists from the last time_range_in_days (default 180) days; fill_window_with_events=true " +
                "lets events use whatever the profiles left. chats_str (JSON list of messages) makes the gists a vector search " +
                "on the last 3 messages (event_similarity_threshold, default 0.2) and, with full_profile_and_only_search_event=false, " +
                "also LLM-filters the profiles. require_event_summary is accepted and ignored. customize_context_prompt replaces the " +
                "template: {profile_section} and {event_section} are filled in, {{ and }} are literal braces, any other brace " +
                "use is errno 400. Beyond upstream: include_buffer=true (default false) appends the user's still-unprocessed " +
                "chat messages (idle, processing or failed buffer entries; newest kept within the tokens left) under " +
                "'## Recent Unprocessed Chats:' (or at {buffer_section} in a custom template).")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<ContextData>>, UnprocessableEntity<HttpValidationError>>> GetContext(
        Guid user_id, Caller caller, ContextBuilder builder, CancellationToken ct,
        int max_token_size = ContextRequest.DefaultMaxTokenSize, string[]? prefer_topics = null, string[]? only_topics = null, int? max_subtopic_size = null,
        string? topic_limits_json = null, string? topic_limits = null, double profile_event_ratio = ContextRequest.DefaultProfileEventRatio, Flag? require_event_summary = null,
        string? chats_str = null, double event_similarity_threshold = ContextRequest.DefaultEventSimilarityThreshold,
        int time_range_in_days = ContextRequest.DefaultTimeRangeInDays, string? customize_context_prompt = null,
        Flag? full_profile_and_only_search_event = null, Flag? fill_window_with_events = null, Flag? include_buffer = null)
    {
        if (!ProfileQuery.TryParseTopicLimits(string.IsNullOrEmpty(topic_limits_json) ? topic_limits : topic_limits_json, out var limits, out var error)
            || !ProfileQuery.TryParseChats(chats_str, out var chats, out error))
        {
            return Api.Fail<ContextData>(Errno.BadRequest, $"Invalid JSON: {error}");
        }
        var request = new ContextRequest(
            max_token_size, prefer_topics, only_topics, max_subtopic_size, limits, profile_event_ratio, chats,
            event_similarity_threshold, time_range_in_days, customize_context_prompt,
            full_profile_and_only_search_event?.Value ?? ContextRequest.DefaultFullProfileAndOnlySearchEvent, fill_window_with_events?.Value ?? false, include_buffer?.Value ?? false);
        var (data, failure) = await builder.BuildAsync(caller.ProjectId, user_id, request, ct);
        return failure is not null ? Api.Fail<ContextData>(failure) : Api.Ok(data!);
    }
}
