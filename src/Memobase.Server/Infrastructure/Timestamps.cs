using System.Globalization;

namespace Memobase.Server.Infrastructure;

public static class Timestamps
{
    private static readonly string[] NaiveFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd",
    ];

    /// <summary>RFC 3339 / ISO 8601 with or without an offset (naive values are taken as UTC, as pydantic does).</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (text.EndsWith('Z') || HasOffset(text))
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
        }
        if (DateTime.TryParseExact(text, NaiveFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var naive))
        {
            value = new DateTimeOffset(naive, TimeSpan.Zero);
            return true;
        }
        return false;
    }

    private static bool HasOffset(string text)
    {
        var t = text.IndexOf('T', StringComparison.Ordinal);
        if (t < 0) t = text.IndexOf(' ', StringComparison.Ordinal);
        return t > 0 && text.AsSpan(t).IndexOfAny('+', '-') > 0;
    }
}
