using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Memobase.Server.Content;

/// <summary>One chat message as upstream's OpenAICompatibleMessage: role user|assistant, content, optional alias and created_at.</summary>
public sealed record ChatMessage(
    string Role,
    string Content,
    string? Alias = null,
    [property: JsonPropertyName("created_at")] string? CreatedAt = null);
