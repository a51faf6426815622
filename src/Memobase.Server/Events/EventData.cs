using System.Text;
using System.Text.Json;
using Npgsql;

namespace Memobase.Server.Events;

/// <summary>
/// Upstream's EventData as returned: <c>profile_delta</c> is always a list (<c>[]</c> when stored null or missing — the
/// Python SDK requires it), <c>event_tip</c> string or null, <c>event_tags</c> list or null. Other stored keys are dropped.
/// </summary>
public sealed record EventData(JsonElement ProfileDelta, string? EventTip, JsonElement? EventTags)
{
    private static readonly JsonElement EmptyList = JsonDocument.Parse("[]").RootElement.Clone();

    public static EventData FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return new EventData(EmptyList, null, null);
        var delta = root.TryGetProperty("profile_delta", out var d) && d.ValueKind == JsonValueKind.Array ? d.Clone() : EmptyList;
        var tip = root.TryGetProperty("event_tip", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        JsonElement? tags = root.TryGetProperty("event_tags", out var g) && g.ValueKind == JsonValueKind.Array ? g.Clone() : null;
        return new EventData(delta, tip, tags);
    }

    /// <summary>
    /// Upstream's <c>event_str_repr</c>, what event token budgets count: without a tip the delta lines
    /// <c>- topic::sub_topic: content</c>; with a tip the tag lines <c>- tag: value</c>, a newline, then the tip.
    /// </summary>
    public string Text()
    {
        var sb = new StringBuilder();
        if (EventTip is null)
        {
            foreach (var item in ProfileDelta.EnumerateArray())
            {
                if (sb.Length > 0) sb.Append('\n');
                var attributes = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("attributes", out var a) ? a : default;
                sb.Append("- ").Append(Str(attributes, "topic")).Append("::").Append(Str(attributes, "sub_topic"))
                    .Append(": ").Append(Str(item, "content"));
            }
            return sb.ToString();
        }
        if (EventTags is { } tags)
        {
            foreach (var tag in tags.EnumerateArray())
            {
                if (sb.Length > 0) sb.Append('\n');
                sb.Append("- ").Append(Str(tag, "tag")).Append(": ").Append(Str(tag, "value"));
            }
        }
        return sb.Append('\n').Append(EventTip).ToString();
    }

    private static string Str(JsonElement obj, string name)
        => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ValueKind == JsonValueKind.Null ? "None" : v.GetRawText()
            : "None";
}
