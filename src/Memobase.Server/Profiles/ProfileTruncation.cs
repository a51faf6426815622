using System.Globalization;
using System.Text.Json;
using Memobase.Server.Tokenization;
using Npgsql;

namespace Memobase.Server.Profiles;

/// <summary>
/// Upstream's <c>truncate_profiles</c>, applied in this order:
/// <list type="number">
/// <item>newest <c>updated_at</c> first;</item>
/// <item><see cref="PreferTopics"/> (trimmed) move to the front, ordered by their position in the list (a topic listed
///   twice takes its last position, like upstream's dict), the rest keep their order;</item>
/// <item><see cref="OnlyTopics"/> (trimmed): keep only those topics;</item>
/// <item>per topic keep the first N: <see cref="TopicLimits"/>[topic] when present (0 keeps none), else
///   <see cref="MaxSubtopicSize"/> (0 or negative: unlimited);</item>
/// <item><see cref="TopK"/> (when not 0): the first N;</item>
/// <item><see cref="MaxTokenSize"/> (when not 0): cut before the first profile whose <see cref="StoredProfile.Line"/>
///   tokens overflow the running total — but the first profile is always kept.</item>
/// </list>
/// </summary>
public sealed record ProfileTruncation(
    IReadOnlyList<string>? PreferTopics = null,
    IReadOnlyList<string>? OnlyTopics = null,
    int? MaxSubtopicSize = null,
    IReadOnlyDictionary<string, int>? TopicLimits = null,
    int? TopK = null,
    int? MaxTokenSize = null)
{
    public List<StoredProfile> Apply(IEnumerable<StoredProfile> profiles)
    {
        var list = profiles.OrderByDescending(p => p.UpdatedAt).ToList(); // stable, like Python's sort
        if (list.Count == 0) return list;

        if (PreferTopics is { Count: > 0 })
        {
            var weights = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < PreferTopics.Count; i++) weights[PreferTopics[i].Trim()] = i;
            var preferred = list.Where(p => p.Topic is not null && weights.ContainsKey(p.Topic)).OrderBy(p => weights[p.Topic!]);
            var others = list.Where(p => p.Topic is null || !weights.ContainsKey(p.Topic));
            list = [.. preferred, .. others];
        }

        if (OnlyTopics is { Count: > 0 })
        {
            var only = OnlyTopics.Select(t => t.Trim()).ToHashSet(StringComparer.Ordinal);
            list = list.Where(p => p.Topic is not null && only.Contains(p.Topic.Trim())).ToList();
        }

        if (MaxSubtopicSize is not (null or 0) || TopicLimits is { Count: > 0 })
        {
            var fallback = MaxSubtopicSize is { } m and not 0 ? m : -1;
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            var kept = new List<StoredProfile>(list.Count);
            foreach (var p in list)
            {
                var key = p.Topic ?? "\0";
                var count = counts[key] = counts.GetValueOrDefault(key) + 1;
                var limit = p.Topic is not null && TopicLimits is not null && TopicLimits.TryGetValue(p.Topic, out var l) ? l : fallback;
                if (limit >= 0 && count > limit) continue;
                kept.Add(p);
            }
            list = kept;
        }

        if (TopK is { } k and > 0 && list.Count > k) list = list.GetRange(0, k);

        if (MaxTokenSize is { } max and not 0 && list.Count > 0)
        {
            var used = 0;
            var keep = 0;
            foreach (var p in list)
            {
                used += O200kTokenizer.Instance.CountTokens(p.Line);
                if (used > max) break;
                keep++;
            }
            list = list.GetRange(0, Math.Max(1, keep));
        }
        return list;
    }
}
