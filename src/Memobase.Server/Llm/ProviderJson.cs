namespace Memobase.Server.Llm;

/// <summary>
/// Repairs a provider's JSON reply before it is parsed. System.Text.Json refuses an escaped unpaired surrogate
/// (<c>"\ud800"</c>) when a string is read, although the document itself parses; a provider that emits one must not
/// fail the job, so each unpaired surrogate escape becomes <c>\ufffd</c> (U+FFFD), in place (same length).
/// </summary>
internal static class ProviderJson
{
    /// <summary><paramref name="json"/> itself when it holds no unpaired surrogate escape, else a repaired copy.</summary>
    public static byte[] ReplaceLoneSurrogateEscapes(byte[] json)
    {
        if (json.AsSpan().IndexOf("\\u"u8) < 0) return json;
        byte[]? copy = null;
        for (var i = 0; i < json.Length - 1; i++)
        {
            if (json[i] != '\\') continue;
            if (json[i + 1] != 'u' || !TryHex(json, i + 2, out var unit))
            {
                i++; // any other escape: skip its second character (it may be a backslash)
                continue;
            }
            if (unit is >= 0xD800 and <= 0xDBFF && i + 12 <= json.Length && json[i + 6] == '\\' && json[i + 7] == 'u'
                && TryHex(json, i + 8, out var low) && low is >= 0xDC00 and <= 0xDFFF)
            {
                i += 11; // a pair
                continue;
            }
            if (unit is >= 0xD800 and <= 0xDFFF)
            {
                copy ??= (byte[])json.Clone();
                "fffd"u8.CopyTo(copy.AsSpan(i + 2));
            }
            i += 5;
        }
        return copy ?? json;
    }

    private static bool TryHex(byte[] json, int start, out int value)
    {
        value = 0;
        if (start + 4 > json.Length) return false;
        for (var k = start; k < start + 4; k++)
        {
            var digit = json[k] switch
            {
                >= (byte)'0' and <= (byte)'9' => json[k] - '0',
                >= (byte)'a' and <= (byte)'f' => json[k] - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => json[k] - 'A' + 10,
                _ => -1,
            };
            if (digit < 0) return false;
            value = value * 16 + digit;
        }
        return true;
    }
}
