namespace Memobase.Server.Processing;

/// <summary>
/// A port of the parts of Python's <c>difflib.SequenceMatcher</c> (no junk function, <c>autojunk=True</c>) that
/// <c>ratio()</c> and <c>get_close_matches</c> need, over Unicode code points like Python's <c>str</c>.
/// <c>ratio = 2 * M / T</c> with M the total size of the matching blocks found by the recursive longest-match algorithm.
/// </summary>
public static class SequenceMatcher
{
    /// <summary><c>SequenceMatcher(None, a, b).ratio()</c>.</summary>
    public static double Ratio(string a, string b) => Ratio(CodePoints(a), CodePoints(b));

    /// <summary>
    /// <c>difflib.get_close_matches(word, possibilities, n, cutoff)</c>: possibilities whose ratio against
    /// <paramref name="word"/> is at least <paramref name="cutoff"/>, best first (ties: later possibility first, as Python's heapq.nlargest over (score, x) compares x).
    /// </summary>
    public static IReadOnlyList<string> GetCloseMatches(string word, IEnumerable<string> possibilities, int n = 3, double cutoff = 0.6)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        var b = CodePoints(word);
        var scored = new List<(double Score, string Value)>();
        foreach (var x in possibilities)
        {
            var a = CodePoints(x);
            // real_quick_ratio and quick_ratio are upper bounds of ratio: cheap rejections first.
            if (RealQuickRatio(a, b) >= cutoff && QuickRatio(a, b) >= cutoff && Ratio(a, b) >= cutoff)
            {
                scored.Add((Ratio(a, b), x));
            }
        }
        return scored.OrderByDescending(s => s.Score).ThenByDescending(s => s.Value, StringComparer.Ordinal).Take(n).Select(s => s.Value).ToList();
    }

    private static int[] CodePoints(string s)
    {
        var list = new List<int>(s.Length);
        foreach (var rune in s.EnumerateRunes()) list.Add(rune.Value);
        return [.. list];
    }

    private static double Calc(int matches, int length) => length > 0 ? 2.0 * matches / length : 1.0;

    private static double RealQuickRatio(int[] a, int[] b) => Calc(Math.Min(a.Length, b.Length), a.Length + b.Length);

    private static double QuickRatio(int[] a, int[] b)
    {
        var avail = new Dictionary<int, int>();
        foreach (var c in b) avail[c] = avail.GetValueOrDefault(c) + 1;
        var matches = 0;
        foreach (var c in a)
        {
            var left = avail.GetValueOrDefault(c);
            if (left > 0) matches++;
            avail[c] = left - 1;
        }
        return Calc(matches, a.Length + b.Length);
    }

    private static double Ratio(int[] a, int[] b) => Calc(MatchingCharacters(a, b), a.Length + b.Length);

    /// <summary>Sum of the sizes of <c>get_matching_blocks()</c>.</summary>
    internal static int MatchingCharacters(int[] a, int[] b)
    {
        // __chain_b: element → ascending indices in b; with autojunk, "popular" elements of long sequences are dropped.
        var b2j = new Dictionary<int, List<int>>();
        for (var i = 0; i < b.Length; i++)
        {
            if (!b2j.TryGetValue(b[i], out var list)) b2j[b[i]] = list = [];
            list.Add(i);
        }
        if (b.Length >= 200)
        {
            var ntest = b.Length / 100 + 1;
            foreach (var key in b2j.Where(kv => kv.Value.Count > ntest).Select(kv => kv.Key).ToList()) b2j.Remove(key);
        }

        var total = 0;
        var queue = new Stack<(int Alo, int Ahi, int Blo, int Bhi)>();
        queue.Push((0, a.Length, 0, b.Length));
        while (queue.Count > 0)
        {
            var (alo, ahi, blo, bhi) = queue.Pop();
            var (i, j, k) = FindLongestMatch(a, b, b2j, alo, ahi, blo, bhi);
            if (k == 0) continue;
            total += k;
            if (alo < i && blo < j) queue.Push((alo, i, blo, j));
            if (i + k < ahi && j + k < bhi) queue.Push((i + k, ahi, j + k, bhi));
        }
        return total;
    }

    private static (int I, int J, int K) FindLongestMatch(int[] a, int[] b, Dictionary<int, List<int>> b2j, int alo, int ahi, int blo, int bhi)
    {
        int besti = alo, bestj = blo, bestsize = 0;
        var j2len = new Dictionary<int, int>();
        for (var i = alo; i < ahi; i++)
        {
            var newj2len = new Dictionary<int, int>();
            if (b2j.TryGetValue(a[i], out var indices))
            {
                foreach (var j in indices)
                {
                    if (j < blo) continue;
                    if (j >= bhi) break;
                    var k = j2len.GetValueOrDefault(j - 1) + 1;
                    newj2len[j] = k;
                    if (k > bestsize)
                    {
                        besti = i - k + 1;
                        bestj = j - k + 1;
                        bestsize = k;
                    }
                }
            }
            j2len = newj2len;
        }
        // Extend over equal elements that were left out of b2j (popular ones); there is no junk function.
        while (besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1])
        {
            besti--;
            bestj--;
            bestsize++;
        }
        while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize])
        {
            bestsize++;
        }
        return (besti, bestj, bestsize);
    }
}
