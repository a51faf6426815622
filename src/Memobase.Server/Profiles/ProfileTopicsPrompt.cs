using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Memobase.Server.Profiles;

/// <summary>Renders a topic list for prompts.</summary>
public static class ProfileTopicsPrompt
{
    /// <summary>
    /// One line per topic: <c>- topic (description): sub_topic, sub_topic(description), ...</c> — the colon, the list and
    /// the topic's description only when the topic has sub-topics (as upstream), a description only when there is one; the list ends with a line <c>...</c>
    /// (more topics may be created). Upstream renders one indented line per sub-topic and an empty <c>()</c> after every
    /// topic without a description: the same information in about 40 % more tokens, sent twice per flush.
    /// </summary>
    public static string Render(IEnumerable<ProfileTopic> topics)
    {
        var sb = new StringBuilder();
        foreach (var t in topics)
        {
            sb.Append("- ").Append(t.Topic);
            if (t.SubTopics.Count > 0 && !string.IsNullOrWhiteSpace(t.Description)) sb.Append(" (").Append(t.Description).Append(')');
            for (var i = 0; i < t.SubTopics.Count; i++)
            {
                var s = t.SubTopics[i];
                sb.Append(i == 0 ? ": " : ", ").Append(s.Name);
                if (!string.IsNullOrEmpty(s.Description)) sb.Append('(').Append(s.Description).Append(')');
            }
            sb.Append('\n');
        }
        return sb.Append("...").ToString();
    }

    /// <summary>The sub-topics of <paramref name="topic"/> rendered as <c>  - name(description)</c> lines, or <c>None</c>.</summary>
    public static string RenderSubTopicsOf(string topic, IEnumerable<ProfileTopic> topics)
    {
        var lines = topics.Where(t => t.Topic == topic).SelectMany(t => t.SubTopics)
            .Select(s => "  - " + s.Name + (string.IsNullOrEmpty(s.Description) ? "" : $"({s.Description})")).ToList();
        return lines.Count == 0 ? "None" : string.Join('\n', lines);
    }
}
