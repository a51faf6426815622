using System.Globalization;
using System.Text.Json;
using Npgsql;
using Memobase.Server.Content;

namespace Memobase.Server.Profiles;

/// <summary>Parsing of the JSON-in-a-query-string parameters shared by the profile and context endpoints.</summary>
public static class ProfileQuery
{
    /// <summary>
    /// <c>topic_limits_json</c> (or the TypeScript SDK's <c>topic_limits</c>): a JSON object topic → integer. Null or empty
    /// means none. Integers may also be given as integral numbers (<c>3.0</c>) or numeric strings, as pydantic accepts.
    /// </summary>
    public static bool TryParseTopicLimits(string? json, out Dictionary<string, int> limits, out string? error)
    {
        limits = new Dictionary<string, int>(StringComparer.Ordinal);
        error = null;
        if (string.IsNullOrWhiteSpace(json)) return true;
        if (!TryParseJson(json, "topic_limits_json", out var root, out error)) return false;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "topic_limits_json: Input should be a valid dictionary";
            return false;
        }
        foreach (var property in root.EnumerateObject())
        {
            if (!TryGetInt(property.Value, out var value))
            {
                error = $"topic_limits_json.{property.Name}: Input should be a valid integer";
                return false;
            }
            limits[property.Name] = value;
        }
        return true;
    }

    /// <summary><c>chats_str</c>: a JSON list of OpenAI-style messages (role user|assistant, content, optional alias/created_at).</summary>
    public static bool TryParseChats(string? json, out IReadOnlyList<ChatMessage> chats, out string? error)
    {
        chats = [];
        error = null;
        if (string.IsNullOrWhiteSpace(json)) return true;
        if (!TryParseJson(json, "chats_str", out var root, out error)) return false;
        if (root.ValueKind != JsonValueKind.Array)
        {
            error = "chats_str: Input should be a valid list";
            return false;
        }
        using var wrapper = JsonDocument.Parse("{\"messages\":" + root.GetRawText() + "}");
        var (content, parseError) = BlobParser.Parse(BlobTypes.Chat, wrapper.RootElement);
        if (parseError is not null)
        {
            error = "chats_str" + (parseError.StartsWith("messages", StringComparison.Ordinal) ? parseError["messages".Length..] : ": " + parseError);
            return false;
        }
        chats = ((ChatContent)content!).Messages;
        return true;
    }

    private static bool TryParseJson(string json, string name, out JsonElement root, out string? error)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            root = default;
            error = $"{name} is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, position {(ex.BytePositionInLine ?? 0) + 1})";
            return false;
        }
    }

    private static bool TryGetInt(JsonElement value, out int result)
    {
        result = 0;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                if (value.TryGetInt32(out result)) return true;
                if (value.TryGetDouble(out var d) && Math.Floor(d) == d && d is >= int.MinValue and <= int.MaxValue)
                {
                    result = (int)d;
                    return true;
                }
                return false;
            case JsonValueKind.String:
                return int.TryParse(value.GetString()?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result);
            default:
                return false;
        }
    }
}
