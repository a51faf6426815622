using System.Text;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Makes text from outside the request (LLM replies, upstream error messages) storable in PostgreSQL <c>text</c> and
/// <c>jsonb</c>: C0 control characters other than tab, line feed and carriage return are removed (U+0000 is rejected
/// by both column types), and an unpaired UTF-16 surrogate becomes U+FFFD (Npgsql's UTF-8 encoder refuses it).
/// </summary>
public static class StoredText
{
    public static string Sanitize(string text)
    {
        var i = 0;
        while (i < text.Length && IsClean(text, i)) i++;
        if (i == text.Length) return text;

        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                sb.Append('\uFFFD');
            }
            else if (c >= ' ' || c is '\t' or '\n' or '\r')
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static bool IsClean(string text, int i)
    {
        var c = text[i];
        if (c < ' ') return c is '\t' or '\n' or '\r';
        if (char.IsHighSurrogate(c)) return i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
        if (char.IsLowSurrogate(c)) return i > 0 && char.IsHighSurrogate(text[i - 1]);
        return true;
    }
}
