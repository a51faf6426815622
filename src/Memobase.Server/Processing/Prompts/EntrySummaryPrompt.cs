using System.Globalization;
using System.Text;
using Memobase.Server.Content;
using Memobase.Server.Llm;
using Memobase.Server.Buffers;

namespace Memobase.Server.Processing.Prompts;

/// <summary>
/// Call 1: turns the buffered chats into a bullet log of what is worth remembering about the user, each item
/// with time annotations. The output is not parsed: it becomes the event tip and the input of extraction and tagging.
/// </summary>
public static class EntrySummaryPrompt
{
    /// <param name="language"><c>en</c> or <c>zh</c>.</param>
    /// <param name="topics">The rendered topic list (<see cref="Profiles.ProfileTopicsPrompt"/>).</param>
    /// <param name="eventTags"><c>- name(description)</c> lines, possibly empty.</param>
    /// <param name="additionalRequirements">The event theme requirement.</param>
    public static string System(string language, string topics, string eventTags, string additionalRequirements)
        => language == "zh" ? Zh(topics, eventTags, additionalRequirements) : En(topics, eventTags, additionalRequirements);

    /// <summary>
    /// The messages of <paramref name="blobs"/> (oldest first), grouped by date: a line <c>[date]</c> whenever the date
    /// changes, then one <c>name: content</c> line per message (<c>alias(role)</c> or the role). The date is the
    /// message's <c>created_at</c>, else its blob's day in <paramref name="timeZone"/>, as in the blob's rendering; upstream
    /// repeats it at the start of every message line, about 8 tokens a message. A blob that is not a chat is rendered as
    /// it is.
    /// </summary>
    public static string Chats(IEnumerable<BufferedBlob> blobs, TimeZoneInfo timeZone)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var sb = new StringBuilder();
        string? date = null;
        foreach (var blob in blobs)
        {
            if (blob.Content is not ChatContent chat)
            {
                if (sb.Length > 0) sb.Append('\n');
                sb.Append(blob.Content.Render(blob.CreatedAt, timeZone));
                date = null;
                continue;
            }
            var day = TimeZoneInfo.ConvertTime(blob.CreatedAt, timeZone).ToString("yyyy/MM/dd", CultureInfo.InvariantCulture);
            foreach (var m in chat.Messages)
            {
                var stamp = m.CreatedAt ?? day;
                if (stamp != date)
                {
                    if (sb.Length > 0) sb.Append('\n');
                    sb.Append('[').Append(stamp).Append(']');
                    date = stamp;
                }
                sb.Append('\n').Append(string.IsNullOrEmpty(m.Alias) ? m.Role : $"{m.Alias}({m.Role})").Append(": ").Append(m.Content);
            }
        }
        return sb.ToString();
    }

    /// <summary>Already logged profile lines, then the chats (<see cref="Chats"/>).</summary>
    public static string User(string alreadyLogged, string chats) => $"""
        ### Already Logged
        {alreadyLogged}

        ### Input Chats
        {chats}
        """;

    private static string En(string topics, string eventTags, string additionalRequirements) => $"""
        {PromptStages.Marker(PromptStages.EntrySummary)}
        You keep a logbook about a user. From the conversation between the user and an assistant, log everything worth
        remembering about the user: facts about them, their preferences, plans and schedules, and what happened to them.

        ## Rules
        - One item per line: - <item>[mention <date>, <happen|plan> <date>] // <info|event|schedule>
          (info: a fact about the user; event: something that happened; schedule: a plan or appointment)
        - A line [date] gives the time of the messages below it. Note when each item was mentioned and, only when it
          can be worked out, when it happens or happened: resolve "yesterday", "next Friday", "four years ago" against
          the message time (a vague one may give just a year or month). Without a message time, write no date.
        - Keep names, numbers and places as the user gave them; write in the language of the conversation.
        - Log only what the user says or confirms, not suggestions of the assistant the user did not accept.
        - Items under "Already Logged" are known: repeat one only when it changed.
        - If nothing is worth remembering, output nothing.
        {additionalRequirements}

        ## Topics worth noticing
        {topics}
        {EventKinds("Event kinds worth noticing", eventTags)}
        ## Example
        [2024/03/10]
        user: I'm Tom, a nurse in Boston. Yesterday I adopted a cat, Mochi. She sees the vet next Friday.
        Log:
        - The user's name is Tom[mention 2024/03/10] // info
        - Tom works as a nurse in Boston[mention 2024/03/10] // info
        - Tom adopted a cat named Mochi[mention 2024/03/10, happen 2024/03/09] // event
        - Tom will take Mochi to the vet[mention 2024/03/10, plan 2024/03/15] // schedule
        """;

    private static string Zh(string topics, string eventTags, string additionalRequirements) => $"""
        {PromptStages.Marker(PromptStages.EntrySummary)}
        你负责为一位用户记日志。请从用户与助手的对话中记下所有值得记住的用户信息：用户的个人情况、喜好、计划与日程，以及发生在用户身上的事情。

        ## 规则
        - 每行一条：- <内容>[mention <日期>, <happen|plan> <日期>] // <info|event|schedule>
          （info：用户信息；event：发生的事情；schedule：计划或约定）
        - [日期]行给出其下各条消息的时间。注明每条记录的提及日期；能推断出时才注明事情发生或计划的日期：
          根据消息时间换算"昨天"、"下周五"、"四年前"等（模糊的说法可以只到年或月）。消息时间未知时不写日期。
        - 人名、数字和地点保持用户的原话，使用对话所用的语言。
        - 只记录用户说出或确认的内容，不记录用户没有接受的助手建议。
        - "Already Logged"下的内容已经记录过，只有变化时才再次记录。
        - 没有值得记录的内容时，什么都不输出。
        {additionalRequirements}

        ## 值得关注的主题
        {topics}
        {EventKinds("值得关注的事件类型", eventTags)}
        ## 示例
        [2024/03/10]
        user: 我叫小林，在杭州当护士。昨天我领养了一只猫，叫年糕。下周五带它去打疫苗。
        日志：
        - 用户叫小林[mention 2024/03/10] // info
        - 小林在杭州当护士[mention 2024/03/10] // info
        - 小林领养了一只名叫年糕的猫[mention 2024/03/10, happen 2024/03/09] // event
        - 小林计划带年糕去打疫苗[mention 2024/03/10, plan 2024/03/15] // schedule
        """;

    /// <summary>The event tag section (a heading and the tag lines), or nothing when no tags are configured.</summary>
    private static string EventKinds(string heading, string eventTags)
        => string.IsNullOrWhiteSpace(eventTags) ? "" : $"\n## {heading}\n{eventTags}\n";
}
