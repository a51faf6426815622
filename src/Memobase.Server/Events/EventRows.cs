using System.Text;
using System.Text.Json;
using Npgsql;

namespace Memobase.Server.Events;

/// <summary>One stored event as read from <c>user_events</c> (similarity only for vector search).</summary>
public sealed record EventRow(Guid Id, string EventDataJson, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity = null);

/// <summary>One stored gist as read from <c>user_event_gists</c> (similarity only for vector search).</summary>
public sealed record GistRow(Guid Id, string GistDataJson, DateTime CreatedAt, DateTime UpdatedAt, double? Similarity = null)
{
    /// <summary>The gist's text (<c>gist_data.content</c>), "" when missing.</summary>
    public string Content
    {
        get
        {
            using var doc = JsonDocument.Parse(GistDataJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("content", out var c)
                   && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
        }
    }
}
