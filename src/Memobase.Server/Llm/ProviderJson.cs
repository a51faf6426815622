using System.Globalization;
using System.Text;
using System.Text.Json;
using Memobase.Server.Infrastructure;

namespace Memobase.Server.Llm;

/// <summary>
/// Reads strings from a provider's JSON reply. System.Text.Json refuses an escaped unpaired surrogate
/// (<c>"\ud800"</c>) when a string is read, although the document itself parses; a provider that emits one must not
/// fail the job, so such a string is unescaped here and its unpaired surrogates become U+FFFD.
/// </summary>
internal static class ProviderJson
{
    public static string GetString(JsonElement value)
    {
        try
        {
            return value.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            return StoredText.Sanitize(Unescape(value.GetRawText()));
        }
    }

    /// <summary>Unescapes the raw text of a JSON string the parser has already validated (quotes included).</summary>
    private static string Unescape(string raw)
    {
        var text = new StringBuilder(raw.Length);
        for (var i = 1; i < raw.Length - 1; i++)
        {
            if (raw[i] != '\\')
            {
                text.Append(raw[i]);
                continue;
            }
            var escape = raw[++i];
            switch (escape)
            {
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'u':
                    text.Append((char)int.Parse(raw.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: text.Append(escape); break; // \" \\ \/
            }
        }
        return text.ToString();
    }
}
