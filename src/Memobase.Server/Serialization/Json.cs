using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Memobase.Server.Serialization;

/// <summary>
/// The JSON conventions, defined once: upstream's wire format is snake_case with every property present (null included).
/// HTTP bodies, stored documents (jsonb), webhook payloads and MCP tool results all use <see cref="Wire"/>; text that is
/// stored or sent to an LLM as it is written uses <see cref="Relaxed"/>, the same options without escaping non-ASCII.
/// </summary>
public static class Json
{
    /// <summary>The snake_case wire: ASP.NET Core's web defaults with snake_case names and no property left out.</summary>
    public static readonly JsonSerializerOptions Wire = Frozen(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    });

    /// <summary>Stored documents (jsonb columns): the wire format.</summary>
    public static JsonSerializerOptions Storage => Wire;

    /// <summary>
    /// <see cref="Wire"/> without escaping non-ASCII characters: stored blob content and the JSON put into prompts read
    /// as written (and a prompt pays no tokens for <c>\u00e9</c> escapes).
    /// </summary>
    public static readonly JsonSerializerOptions Relaxed = Frozen(new JsonSerializerOptions(Wire) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>Parses stored JSON text for passthrough in a response (null stays null).</summary>
    public static JsonElement? Raw(string? json)
    {
        if (json is null) return null;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Wire);

    /// <summary>Applies <see cref="Wire"/>'s conventions to options the framework owns (the HTTP JSON options).</summary>
    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = Wire.PropertyNamingPolicy;
        o.DefaultIgnoreCondition = Wire.DefaultIgnoreCondition;
    }

    /// <summary>Read-only with its resolver set, so that concurrent first uses need no lock.</summary>
    private static JsonSerializerOptions Frozen(JsonSerializerOptions options)
    {
        options.TypeInfoResolver ??= new DefaultJsonTypeInfoResolver();
        options.MakeReadOnly();
        return options;
    }
}
