using System.Text.Json;
using System.Text.Json.Serialization;

namespace Memobase.Server.Infrastructure;

public static class Json
{
    /// <summary>Options for JSON we store (jsonb columns): snake_case like the wire format.</summary>
    public static readonly JsonSerializerOptions Storage = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Parses stored JSON text for passthrough in a response (null stays null).</summary>
    public static JsonElement? Raw(string? json)
    {
        if (json is null) return null;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Storage);

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Storage);

    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
    }
}
