using System.Text;
using Memobase.Server.Llm;

namespace Memobase.Server.Processing.Prompts;

/// <summary>One item of the batched merge call.</summary>
public sealed record MergeItem(
    int MemoId, string NewInfo, string CurrentMemo, string Topic, string Subtopic, string? TopicDescription, string? UpdateInstruction);

/// <summary>
/// Call 3 ("YOLO" merge): one call decides APPEND / UPDATE / ABORT for every new fact, answering
/// <c>N. ACTION{sep}MEMO</c> lines after its reasoning and a <c>---</c> line.
/// </summary>
public static class MergePrompt
{
    /// <summary>Label of the line that carries an item's topic description.</summary>
    public const string DescriptionLabel = "  description: ";

    /// <summary>Label of the line that carries an item's update instruction.</summary>
    public const string UpdateLabel = "  update: ";

    public static string System(string language, string separator) => language == "zh" ? Zh(separator) : En(separator);

    /// <summary>
    /// One line per item, <c>N{sep}TOPIC{sep}SUBTOPIC{sep}NEW_INFO{sep}CURRENT_MEMO</c> (the last field only when the
    /// slot holds a memo), followed by a <see cref="DescriptionLabel"/> line when the slot has a description and an
    /// <see cref="UpdateLabel"/> line when it has an update instruction; the system prompt describes the format once.
    /// NEW_INFO, TOPIC and SUBTOPIC never contain the separator (they were split on it), so only the last field can, and
    /// the line stays unambiguous. Line breaks inside a field become spaces. Against compact JSON this drops the repeated
    /// field names and quotes: about 16 tokens per item.
    /// </summary>
    public static string User(IReadOnlyList<MergeItem> items, string separator)
    {
        ArgumentNullException.ThrowIfNull(items);
        var sb = new StringBuilder();
        foreach (var item in items)
        {
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(item.MemoId).Append(separator).Append(OneLine(item.Topic)).Append(separator).Append(OneLine(item.Subtopic))
                .Append(separator).Append(OneLine(item.NewInfo));
            if (!string.IsNullOrEmpty(item.CurrentMemo)) sb.Append(separator).Append(OneLine(item.CurrentMemo));
            if (!string.IsNullOrWhiteSpace(item.TopicDescription)) sb.Append('\n').Append(DescriptionLabel).Append(OneLine(item.TopicDescription));
            if (!string.IsNullOrWhiteSpace(item.UpdateInstruction)) sb.Append('\n').Append(UpdateLabel).Append(OneLine(item.UpdateInstruction));
        }
        return sb.ToString();
    }

    private static string OneLine(string text) => text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal)
        ? text.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ')
        : text;

    private static string En(string sep) => $"""
        {PromptStages.Marker(PromptStages.Merge)}
        You maintain the memos of a user's profile; each slot (a topic and a subtopic) holds one memo. Decide for every
        item of new information how it changes its slot.

        Input, one line per item: N{sep}TOPIC{sep}SUBTOPIC{sep}NEW_INFO{sep}CURRENT_MEMO (no CURRENT_MEMO when the slot
        is empty), possibly followed by a line "{DescriptionLabel.Trim()} ..." (what belongs in the slot) and a line
        "{UpdateLabel.Trim()} ..." (how the slot must be updated: follow it).

        Actions:
        - APPEND: NEW_INFO adds to the current memo without contradicting it, or the slot is empty and NEW_INFO is a
          valid value for it. It is then appended as it is.
        - UPDATE: NEW_INFO contradicts, corrects or supersedes the current memo, or both must be combined into one text.
          Write the complete new memo: at most 5 sentences, keep time annotations such as [mention ...], invent nothing.
        - ABORT: NEW_INFO carries no real value, is already in the current memo, or does not fit the slot's description.

        Output: first your reasoning, then a line containing only ---, then exactly one line per item:
        N. ACTION{sep}MEMO
        For UPDATE, MEMO is the complete new memo; for APPEND and ABORT repeat NEW_INFO.

        Example output:
        Item 1 fills an empty slot; item 2 changes the user's city; item 3 repeats what is known.
        ---
        1. APPEND{sep}Likes jazz[mention 2024/03/10]
        2. UPDATE{sep}Moved from Boston to Chicago[mention 2024/04/02]
        3. ABORT{sep}Works as a nurse
        """;

    private static string Zh(string sep) => $"""
        {PromptStages.Marker(PromptStages.Merge)}
        你负责维护用户画像中的备忘，每个条目（一个主题加一个子主题）保存一段备忘。请为每一项新信息决定它如何改变所属条目。

        输入每行一项：N{sep}主题{sep}子主题{sep}新信息{sep}当前备忘（条目为空时没有当前备忘）。其后可能有一行
        "{DescriptionLabel.Trim()} ..."（该条目应包含的内容）和一行"{UpdateLabel.Trim()} ..."（该条目的更新要求，必须遵守）。

        操作：
        - APPEND：新信息是对当前备忘的补充且不冲突，或条目为空而新信息是合适的值。新信息将原样追加。
        - UPDATE：新信息与当前备忘冲突、修正或取代了它，或两者需要合并成一段文字。请写出完整的新备忘：
          不超过5句话，保留[mention ...]等时间标注，不要编造。
        - ABORT：新信息没有实际价值、已包含在当前备忘中，或不符合该条目的 description。

        输出：先写出你的分析，然后单独写一行---，之后每一项恰好一行：
        N. 操作{sep}备忘
        操作为 APPEND、UPDATE 或 ABORT。UPDATE 时写完整的新备忘；APPEND 和 ABORT 时重复新信息。

        输出示例：
        第1项填充空条目；第2项更新了用户所在城市；第3项是已知信息。
        ---
        1. APPEND{sep}喜欢爵士乐[mention 2024/03/10]
        2. UPDATE{sep}从杭州搬到了上海[mention 2024/04/02]
        3. ABORT{sep}是一名护士
        """;
}
