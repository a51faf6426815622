using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Memobase.Server.Serialization;

namespace Memobase.Server.Content;

/// <summary>The parsed, normalised content of a blob, and its text rendering (what is token-counted and fed to the LLM).</summary>
public abstract record BlobContent
{
    /// <summary>The JSON stored in <c>blobs.blob_data</c> (the blob minus type/fields/created_at).</summary>
    public abstract string ToStoredJson();

    /// <summary>Upstream's text rendering, used for token counts, truncation and prompts.</summary>
    public abstract string Render(DateTimeOffset blobCreatedAt, TimeZoneInfo timeZone);

    protected static string Day(DateTimeOffset at, TimeZoneInfo tz)
        => TimeZoneInfo.ConvertTime(at, tz).ToString("yyyy/MM/dd", CultureInfo.InvariantCulture);
}

public sealed record ChatContent(IReadOnlyList<ChatMessage> Messages) : BlobContent
{
    public override string ToStoredJson() => JsonSerializer.Serialize(new { messages = Messages }, Json.Relaxed);

    public override string Render(DateTimeOffset blobCreatedAt, TimeZoneInfo timeZone)
    {
        var day = Day(blobCreatedAt, timeZone);
        var sb = new StringBuilder();
        foreach (var m in Messages)
        {
            if (sb.Length > 0) sb.Append('\n');
            var name = string.IsNullOrEmpty(m.Alias) ? m.Role : $"{m.Alias}({m.Role})";
            sb.Append('[').Append(m.CreatedAt ?? day).Append("] ").Append(name).Append(": ").Append(m.Content);
        }
        return sb.ToString();
    }
}

public sealed record SummaryContent(string Summary) : BlobContent
{
    public override string ToStoredJson() => JsonSerializer.Serialize(new { summary = Summary }, Json.Relaxed);

    public override string Render(DateTimeOffset blobCreatedAt, TimeZoneInfo timeZone)
        => $"- {Summary.Replace("\n", " ", StringComparison.Ordinal)}[{Day(blobCreatedAt, timeZone)}]";
}

public sealed record DocContent(string Content) : BlobContent
{
    public override string ToStoredJson() => JsonSerializer.Serialize(new { content = Content }, Json.Relaxed);

    public override string Render(DateTimeOffset blobCreatedAt, TimeZoneInfo timeZone) => Content;
}
