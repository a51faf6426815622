using System.Text;

namespace Memobase.Server.Processing;

/// <summary>
/// A profile slot's content is a list of memos joined by <c>;</c> (appends join with <c>;</c>, same-slot facts with
/// <c>"; "</c>). Two items are the same memo when they are equal ignoring case, whitespace and punctuation, so the merge
/// step never stores a memo twice in one slot and repairs a slot that has grown by repetition (memobase#143:
/// "Xiao Ge; Xiao Ge; Xiao Ge").
/// </summary>
public static class MemoItems
{
    private static readonly char[] Separators = [';', '；'];

    /// <summary>
    /// The comparison key of one item: lower case, full-width forms (U+FF01–U+FF5E, common in Chinese text) as ASCII,
    /// without whitespace and punctuation. (The server runs in invariant globalization mode: no Unicode normalization.)
    /// </summary>
    public static string Key(string item)
    {
        var sb = new StringBuilder(item.Length);
        foreach (var ch in item)
        {
            var c = ch is >= '\uFF01' and <= '\uFF5E' ? (char)(ch - 0xFEE0) : ch;
            if (char.IsWhiteSpace(c) || char.IsPunctuation(c)) continue;
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The content without repeated (or empty) items, the first occurrence of each kept, joined with <c>"; "</c>. The
    /// text is returned unchanged (the same instance) when nothing repeats, and when no item would be left.
    /// </summary>
    public static string Distinct(string content)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<string>();
        var changed = false;
        foreach (var item in content.Split(Separators))
        {
            var key = Key(item);
            if (key.Length == 0 || !seen.Add(key))
            {
                changed = true;
                continue;
            }
            kept.Add(item.Trim());
        }
        return changed && kept.Count > 0 ? string.Join("; ", kept) : content;
    }

    /// <summary>Whether both contents hold the same set of items.</summary>
    public static bool SameItems(string a, string b) => Keys(a).SetEquals(Keys(b));

    /// <summary>
    /// Appends to <paramref name="existing"/> (first made <see cref="Distinct"/>) the items of <paramref name="memo"/>
    /// that it does not hold yet.
    /// </summary>
    /// <returns>The new content, or null when it would not change; and the appended items (<c>""</c> when none).</returns>
    public static (string? Content, string Added) Append(string existing, string memo)
    {
        var current = Distinct(existing);
        var keys = Keys(current);
        var hadItems = keys.Count > 0;
        var added = new List<string>();
        foreach (var item in memo.Split(Separators))
        {
            var key = Key(item);
            if (key.Length == 0 || !keys.Add(key)) continue;
            added.Add(item.Trim());
        }
        var addedText = string.Join("; ", added);
        if (added.Count == 0) return (ReferenceEquals(current, existing) ? null : current, "");
        return (hadItems ? current + ";" + addedText : addedText, addedText);
    }

    private static HashSet<string> Keys(string content)
    {
        var keys = content.Split(Separators).Select(Key).ToHashSet(StringComparer.Ordinal);
        keys.Remove("");
        return keys;
    }
}
