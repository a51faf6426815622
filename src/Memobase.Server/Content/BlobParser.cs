using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Memobase.Server.Content;

/// <summary>Parses <c>blob_data</c> by blob type with upstream's rules; errors become errno 400 "Unable to parse blob: …".</summary>
public static class BlobParser
{
    /// <summary>Upper bound of messages in one chat blob (the admin conversation view encodes the index in its id).</summary>
    public const int MaxChatMessages = 10_000;

    /// <returns>The content, or an error message. Unsupported types return a null content and a null error.</returns>
    public static (BlobContent? Content, string? Error) Parse(string blobType, JsonElement data) => blobType switch
    {
        "chat" => ParseChat(data),
        "summary" => RequireString(data, "summary") is var (s, e) && e is null ? (new SummaryContent(s!), null) : (null, e),
        "doc" => RequireString(data, "content") is var (c, e2) && e2 is null ? (new DocContent(c!), null) : (null, e2),
        _ => (null, null),
    };

    /// <summary>Re-reads stored <c>blob_data</c> (already validated at insert).</summary>
    public static BlobContent? FromStored(string blobType, string storedJson)
    {
        using var doc = JsonDocument.Parse(storedJson);
        return Parse(blobType, doc.RootElement).Content;
    }

    private static (BlobContent?, string?) ParseChat(JsonElement data)
    {
        if (!data.TryGetProperty("messages", out var messages)) return (null, "messages: Field required");
        if (messages.ValueKind != JsonValueKind.Array) return (null, "messages: Input should be a valid list");
        if (messages.GetArrayLength() > MaxChatMessages) return (null, $"messages: a chat blob holds at most {MaxChatMessages} messages");
        var list = new List<ChatMessage>(messages.GetArrayLength());
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object) return (null, $"messages.{i}: Input should be a valid dictionary");
            var (role, roleError) = RequireString(m, "role");
            if (roleError is not null) return (null, $"messages.{i}.{roleError}");
            if (role is not ("user" or "assistant")) return (null, $"messages.{i}.role: Input should be 'user' or 'assistant'");
            var (content, contentError) = RequireString(m, "content");
            if (contentError is not null) return (null, $"messages.{i}.{contentError}");
            var (alias, aliasError) = OptionalString(m, "alias");
            if (aliasError is not null) return (null, $"messages.{i}.{aliasError}");
            var (createdAt, createdError) = OptionalString(m, "created_at");
            if (createdError is not null) return (null, $"messages.{i}.{createdError}");
            list.Add(new ChatMessage(role, content!, alias, createdAt));
            i++;
        }
        return (new ChatContent(list), null);
    }

    private static (string? Value, string? Error) RequireString(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return (null, $"{name}: Field required");
        }
        return v.ValueKind == JsonValueKind.String ? (v.GetString(), null) : (null, $"{name}: Input should be a valid string");
    }

    private static (string? Value, string? Error) OptionalString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return (null, null);
        return v.ValueKind == JsonValueKind.String ? (v.GetString(), null) : (null, $"{name}: Input should be a valid string");
    }
}
