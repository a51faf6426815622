using System.Text.Encodings.Web;
using System.Text;
using System.Text.Json;

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
    private static readonly JsonWriterOptions ItemJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string System(string language, string separator) => language == "zh" ? Zh(separator) : En(separator);

    /// <summary>
    /// The items as one line of compact JSON (<c>memo_id, new_info, current_memo, topic, subtopic, topic_description,
    /// update_instruction</c>), leaving out empty fields: an empty slot has no <c>current_memo</c>, a slot without a
    /// description or an update instruction has no such field. Indentation and empty fields cost a third of the merge
    /// input's tokens and tell the model nothing.
    /// </summary>
    public static string User(IReadOnlyList<MergeItem> items)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, ItemJson))
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                w.WriteStartObject();
                w.WriteNumber("memo_id", item.MemoId);
                w.WriteString("new_info", item.NewInfo);
                if (!string.IsNullOrEmpty(item.CurrentMemo)) w.WriteString("current_memo", item.CurrentMemo);
                w.WriteString("topic", item.Topic);
                w.WriteString("subtopic", item.Subtopic);
                if (!string.IsNullOrWhiteSpace(item.TopicDescription)) w.WriteString("topic_description", item.TopicDescription);
                if (!string.IsNullOrWhiteSpace(item.UpdateInstruction)) w.WriteString("update_instruction", item.UpdateInstruction);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string En(string sep) => $"""
        {PromptStages.Marker(PromptStages.Merge)}
        You maintain the memos of a user's profile. Each profile slot (a topic and a subtopic) holds one memo. You receive a
        JSON list of new pieces of information, each for one slot, and decide for every item how it changes that slot.

        Fields of an item:
        - memo_id: the number to answer with
        - new_info: the new information
        - current_memo: what the slot holds now (absent when the slot is empty)
        - topic, subtopic: the slot
        - topic_description: what belongs in this slot (absent when there is none)
        - update_instruction: how this slot must be updated (follow it when present)

        Actions:
        - APPEND: new_info adds to the current memo without contradicting it, or the slot is empty and new_info is a valid
          value for it. new_info is then appended as it is.
        - UPDATE: new_info contradicts, corrects or supersedes the current memo, or both must be combined into one text.
          Write the complete new memo: at most 5 sentences, keep time annotations such as [mention ...], invent nothing.
        - ABORT: new_info carries no real value, is already contained in the current memo, or does not fit the slot's
          topic_description.

        Output: first your reasoning, then a line containing only ---, then exactly one line per item:
        N. ACTION{sep}MEMO
        N is the memo_id. For UPDATE, MEMO is the complete new memo; for APPEND and ABORT repeat new_info as MEMO.

        Example output:
        Item 1 fills an empty slot; item 2 changes the user's city; item 3 repeats what is known.
        ---
        1. APPEND{sep}Likes jazz[mention 2024/03/10]
        2. UPDATE{sep}Moved from Boston to Chicago[mention 2024/04/02]
        3. ABORT{sep}Works as a nurse
        """;

    private static string Zh(string sep) => $"""
        {PromptStages.Marker(PromptStages.Merge)}
        你负责维护用户画像中的备忘。每个画像条目（一个主题加一个子主题）保存一段备忘。你会收到一个 JSON 列表，
        其中每一项是某个条目的新信息，请为每一项决定它如何改变该条目。

        每一项的字段：
        - memo_id：回答时使用的编号
        - new_info：新信息
        - current_memo：条目当前的内容（条目为空时没有此字段）
        - topic、subtopic：条目
        - topic_description：该条目应包含的内容（没有时无此字段）
        - update_instruction：该条目的更新要求（有则必须遵守）

        操作：
        - APPEND：新信息是对当前备忘的补充且不冲突，或条目为空而新信息是合适的值。新信息将原样追加。
        - UPDATE：新信息与当前备忘冲突、修正或取代了它，或两者需要合并成一段文字。请写出完整的新备忘：
          不超过5句话，保留[mention ...]等时间标注，不要编造。
        - ABORT：新信息没有实际价值、已包含在当前备忘中，或不符合该条目的 topic_description。

        输出：先写出你的分析，然后单独写一行---，之后每一项恰好一行：
        N. 操作{sep}备忘
        N 是 memo_id，操作为 APPEND、UPDATE 或 ABORT。UPDATE 时写完整的新备忘；APPEND 和 ABORT 时重复新信息。

        输出示例：
        第1项填充空条目；第2项更新了用户所在城市；第3项是已知信息。
        ---
        1. APPEND{sep}喜欢爵士乐[mention 2024/03/10]
        2. UPDATE{sep}从杭州搬到了上海[mention 2024/04/02]
        3. ABORT{sep}是一名护士
        """;
}
