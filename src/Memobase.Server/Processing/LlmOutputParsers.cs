using System.Globalization;
using System.Text.RegularExpressions;
using Memobase.Server.Profiles;

namespace Memobase.Server.Processing;

/// <summary>One extracted profile fact (topic and sub-topic normalised).</summary>
public sealed record ExtractedFact(string Topic, string SubTopic, string Memo);

public enum MergeAction
{
    Append,
    Update,
    Abort,
}

/// <summary>The merge call's decision for one numbered item.</summary>
public sealed record MergeDecision(MergeAction Action, string Memo);

/// <summary>A <c>- NAME::VALUE</c> line (organize output, event tags); the name is normalised.</summary>
public sealed record NamedValue(string Name, string Value);

/// <summary>Parsers of the line formats the pipeline's prompts ask for (upstream's, with the configured separator).</summary>
public static partial class LlmOutputParsers
{
    /// <summary>Values that mean "nothing" (14 Chinese and 14 English); a memo close to one of them is dropped.</summary>
    public static IReadOnlyList<string> MeaninglessValues { get; } =
    [
        "无", "未提及", "不清楚", "用户未提及", "对话未提及", "未知", "不详",
        "没有提到", "没有说明", "无法确定", "无相关内容", "未明确提及", "无明确信息", "无符合信息",
        "none", "unknown", "not mentioned", "not mentioned by user", "not mentioned in the conversation", "unclear", "unspecified",
        "not specified", "not determined", "no information", "n/a", "no related content", "no related information", "no matched information",
    ];

    /// <summary>
    /// Upstream's meaningless-value check: <c>difflib.get_close_matches(memo.strip().lower(), values)</c> (cutoff 0.6)
    /// finds anything.
    /// </summary>
    public static bool IsMeaningless(string memo)
        => SequenceMatcher.GetCloseMatches(memo.Trim().ToLowerInvariant(), MeaninglessValues, 3, 0.6).Count > 0;

    /// <summary>
    /// Extraction output: every line (stripped) starting with <c>"- "</c> and splitting into exactly three parts
    /// <c>TOPIC{sep}SUB_TOPIC{sep}MEMO</c>; meaningless memos are dropped; names normalised, memo trimmed.
    /// </summary>
    public static List<ExtractedFact> ParseFacts(string text, string separator)
    {
        var facts = new List<ExtractedFact>();
        foreach (var line in Lines(text))
        {
            if (!line.StartsWith("- ", StringComparison.Ordinal)) continue;
            var parts = line[2..].Split(separator);
            if (parts.Length != 3) continue;
            if (IsMeaningless(parts[2])) continue;
            facts.Add(new ExtractedFact(ProfileNames.Unify(parts[0]), ProfileNames.Unify(parts[1]), parts[2].Trim()));
        }
        return facts;
    }

    /// <summary>Facts with the same (topic, sub_topic) become one, memos joined with <c>"; "</c> (first occurrence's position).</summary>
    public static List<ExtractedFact> MergeSameSlot(IEnumerable<ExtractedFact> facts)
    {
        var order = new List<(string, string)>();
        var merged = new Dictionary<(string, string), ExtractedFact>();
        foreach (var f in facts)
        {
            var key = (f.Topic, f.SubTopic);
            if (merged.TryGetValue(key, out var existing))
            {
                merged[key] = existing with { Memo = existing.Memo + "; " + f.Memo };
                continue;
            }
            merged[key] = f;
            order.Add(key);
        }
        return order.Select(k => merged[k]).ToList();
    }

    /// <summary>
    /// Merge output: lines (stripped) <c>N. ACTION{sep}MEMO</c>; at least two parts, the memo is the rest re-joined with the
    /// separator; ACTION (upper-cased) must be APPEND, UPDATE or ABORT. A later line for the same N wins.
    /// </summary>
    public static Dictionary<int, MergeDecision> ParseMergeActions(string text, string separator)
    {
        var result = new Dictionary<int, MergeDecision>();
        foreach (var line in Lines(text))
        {
            var m = NumberedLine().Match(line);
            if (!m.Success || !int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var order)) continue;
            var parts = m.Groups[2].Value.Trim().Split(separator);
            if (parts.Length < 2) continue;
            MergeAction? action = parts[0].Trim().ToUpperInvariant() switch
            {
                "APPEND" => MergeAction.Append,
                "UPDATE" => MergeAction.Update,
                "ABORT" => MergeAction.Abort,
                _ => null,
            };
            if (action is null) continue;
            result[order] = new MergeDecision(action.Value, string.Join(separator, parts[1..]).Trim());
        }
        return result;
    }

    /// <summary>
    /// <c>- NAME{sep}VALUE</c> lines (organize output and event tags): exactly two parts, meaningless values dropped,
    /// name normalised, value trimmed.
    /// </summary>
    public static List<NamedValue> ParseNamedValues(string text, string separator)
    {
        var result = new List<NamedValue>();
        foreach (var line in Lines(text))
        {
            if (!line.StartsWith("- ", StringComparison.Ordinal)) continue;
            var parts = line[2..].Split(separator);
            if (parts.Length != 2) continue;
            var value = parts[1].Trim();
            if (IsMeaningless(value)) continue;
            result.Add(new NamedValue(ProfileNames.Unify(parts[0].Trim()), value));
        }
        return result;
    }

    private static IEnumerable<string> Lines(string text)
        => text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0);

    [GeneratedRegex(@"^(\d+)\.(.*)$")]
    private static partial Regex NumberedLine();
}
