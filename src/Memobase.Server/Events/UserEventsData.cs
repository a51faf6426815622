using System.Text;
using System.Text.Json;
using Memobase.Server.Serialization;
using Npgsql;

namespace Memobase.Server.Events;

/// <summary>Upstream's UserEventData. Timestamps are UTC (RFC 3339).</summary>
public sealed record UserEventData(Guid Id, EventData EventData, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity)
{
    public static UserEventData From(EventRow row) => new(row.Id, EventData.FromJson(row.EventDataJson), row.CreatedAt, row.UpdatedAt, row.Similarity);
}

/// <summary>Upstream's UserEventGistData: <c>gist_data</c> is <c>{"content": "- …"}</c>.</summary>
public sealed record UserEventGistData(Guid Id, JsonElement GistData, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity)
{
    public static UserEventGistData From(GistRow row)
        => new(row.Id, Json.Raw(row.GistDataJson)!.Value, row.CreatedAt, row.UpdatedAt, row.Similarity);
}

/// <summary>Event list payload; <c>gists</c> is always present (and empty), as upstream.</summary>
public sealed record UserEventsData(IReadOnlyList<UserEventData> Events, IReadOnlyList<UserEventGistData> Gists);

/// <summary>Gist search payload; <c>events</c> is always present (and empty): the TypeScript and Go SDKs read it.</summary>
public sealed record UserEventGistsData(IReadOnlyList<UserEventGistData> Gists, IReadOnlyList<UserEventData> Events);
