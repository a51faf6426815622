using Memobase.Server.Infrastructure;
using Memobase.Server.Llm;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Events;

/// <summary>Reading and searching a user's events, shared by the REST API and the MCP tools.</summary>
public sealed partial class EventService(EventStore store, EmbeddingClient embeddings, IEventVectorSearch search, ILoggerFactory logs)
{
    public const int DefaultTopK = 10;
    public const double DefaultSimilarityThreshold = 0.2;
    public const int DefaultSearchDays = 180;

    public static Failure NotFound(Guid eventId) => Failure.NotFound($"User event {eventId} not found");

    /// <summary>The events of the last <see cref="EventStore.RecentEventDays"/> days, newest first, at most <paramref name="topk"/>, then cut by tokens.</summary>
    public async Task<UserEventsData> RecentAsync(string projectId, Guid userId, int topk, int? maxTokenSize, CancellationToken ct)
    {
        var rows = await store.RecentEventsAsync(projectId, userId, topk, EventStore.RecentEventDays, ct);
        var events = rows.Select(UserEventData.From);
        var list = maxTokenSize is { } max ? EventStore.TruncateByTokens(events, max) : events.ToList();
        return new UserEventsData(list, []);
    }

    /// <summary>Events most similar to <paramref name="query"/>, best first (errno 501 when embeddings are off, 503 when the embedding API fails, 504 when the search does not finish in its budget).</summary>
    public async Task<(UserEventsData? Data, Failure? Failure)> SearchEventsAsync(string projectId, Guid userId, string query, int topk,
        double similarityThreshold, int timeRangeInDays, CancellationToken ct)
    {
        var (vector, failure) = await EmbedQueryAsync(embeddings, projectId, query, logs, ct);
        if (failure is not null) return (null, failure);
        try
        {
            var rows = await search.SearchEventsAsync(new VectorQuery(projectId, userId, vector!, topk, similarityThreshold, timeRangeInDays), ct);
            return (new UserEventsData(rows.Select(UserEventData.From).ToList(), []), null);
        }
        catch (EventSearchTimeoutException ex)
        {
            return (null, new Failure(Errno.GatewayTimeout, ex.Message));
        }
    }

    /// <summary>Event gists most similar to <paramref name="query"/>, best first (errors as <see cref="SearchEventsAsync"/>).</summary>
    public async Task<(UserEventGistsData? Data, Failure? Failure)> SearchGistsAsync(string projectId, Guid userId, string query, int topk,
        double similarityThreshold, int timeRangeInDays, CancellationToken ct)
    {
        var (vector, failure) = await EmbedQueryAsync(embeddings, projectId, query, logs, ct);
        if (failure is not null) return (null, failure);
        try
        {
            var rows = await search.SearchGistsAsync(new VectorQuery(projectId, userId, vector!, topk, similarityThreshold, timeRangeInDays), ct);
            return (new UserEventGistsData(rows.Select(UserEventGistData.From).ToList(), []), null);
        }
        catch (EventSearchTimeoutException ex)
        {
            return (null, new Failure(Errno.GatewayTimeout, ex.Message));
        }
    }

    /// <summary>Errno 501 when embeddings are off, 503 when the embedding API fails (details go to the log only).</summary>
    internal static async Task<(float[]? Vector, Failure? Failure)> EmbedQueryAsync(EmbeddingClient embeddings, string projectId, string query, ILoggerFactory logs, CancellationToken ct)
    {
        if (!embeddings.IsEnabled) return (null, new Failure(Errno.NotImplemented, "Event embedding is not enabled"));
        try
        {
            using var project = LlmCallContext.ForProject(projectId);
            using var stage = LlmCallContext.ForStage("search_query");
            var vectors = await embeddings.EmbedAsync([query], ct, query: true);
            return (vectors[0], null);
        }
        catch (LlmException ex)
        {
            LogEmbeddingFailed(logs.CreateLogger<EventService>(), ex.Message);
            var status = ex.StatusCode is { } code ? $" (HTTP {code})" : "";
            return (null, new Failure(Errno.ServiceUnavailable, $"Embedding service unavailable{status}: the search query could not be embedded"));
        }
    }

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "Embedding the search query failed: {Error}")]
    private static partial void LogEmbeddingFailed(ILogger logger, string error);
}
