using System.Globalization;
using System.Text.RegularExpressions;

namespace Memobase.Server.Profiles;

/// <summary>Reads the profile filter's answer: the indexes of the picked profiles, as a list of integers.</summary>
public static partial class ProfileFilterReply
{
    /// <summary>The first list of integers (<c>[1, 2, 3]</c> or <c>[]</c>) anywhere in <paramref name="text"/>, or null.</summary>
    public static List<int>? FindFirstIntList(string text)
    {
        var m = IntList().Match(text);
        if (!m.Success) return null;
        var result = new List<int>();
        foreach (var piece in m.Value.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(piece, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return null;
            result.Add(n);
        }
        return result;
    }

    [GeneratedRegex(@"\[\s*(?:-?\d+(?:\s*,\s*-?\d+)*)?\s*\]")]
    private static partial Regex IntList();
}
