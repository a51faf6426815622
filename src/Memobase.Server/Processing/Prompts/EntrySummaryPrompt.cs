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

    /// <summary>Already logged profile lines, then the rendered chats.</summary>
    public static string User(string alreadyLogged, string chats) => $"""
        ### Already Logged
        {alreadyLogged}

        ### Input Chats
        {chats}
        """;

    private static string En(string topics, string eventTags, string additionalRequirements) => $"""
        {PromptStages.Marker(PromptStages.EntrySummary)}
        You keep a personal logbook about a user. Read the conversation between the user and an assistant and write down,
        as a short bullet list, everything worth remembering about the user: facts about them, their preferences, their
        plans and schedules, and the things that happened to them.

        ## How to write the log
        - One item per line, each line starting with "- ".
        - Every chat line begins with the time the message was sent, in [brackets]. After each item note when it was
          mentioned, and — only when it can be worked out — when it happens or happened. Resolve relative expressions
          ("yesterday", "next Friday", "four years ago") against the time of the message; a vague reference may resolve to
          just a year or a month. If the message time is unknown, do not write any date.
        - End each line with " // " and the kind of item: info (a fact about the user), event (something that happened),
          schedule (a plan or appointment).
        - Keep names, numbers and places exactly as the user gave them, and write in the language of the conversation.
        - Log only what the user says or clearly confirms. Ignore suggestions of the assistant that the user did not accept.
        - The items under "Already Logged" are known already; repeat one only when it changed.
        - If nothing in the conversation is worth remembering, output nothing.
        {additionalRequirements}

        ## Topics worth noticing
        {topics}

        ## Event kinds worth noticing
        {(string.IsNullOrWhiteSpace(eventTags) ? "(none)" : eventTags)}

        ## Line format
        - <what the user said or what happened>[mention <date>, <happen|plan> <date>] // <info|event|schedule>

        ## Example
        Conversation:
        [2024/03/10] user: I'm Tom, I work as a nurse in Boston. Yesterday I finally adopted a cat!
        [2024/03/10] assistant: Congratulations! What is her name?
        [2024/03/10] user: Mochi. I'm taking her to the vet next Friday.
        Log:
        - The user's name is Tom[mention 2024/03/10] // info
        - Tom works as a nurse in Boston[mention 2024/03/10] // info
        - Tom adopted a cat named Mochi[mention 2024/03/10, happen 2024/03/09] // event
        - Tom will take Mochi to the vet[mention 2024/03/10, plan 2024/03/15] // schedule
        """;

    private static string Zh(string topics, string eventTags, string additionalRequirements) => $"""
        {PromptStages.Marker(PromptStages.EntrySummary)}
        你负责为一位用户记录个人日志。请阅读用户与助手之间的对话，用简短的要点列表记下所有值得记住的用户信息：
        用户的个人情况、喜好、计划与日程，以及发生在用户身上的事情。

        ## 记录要求
        - 每行一条，以"- "开头。
        - 每条对话前的[方括号]中是消息发送的时间。每条记录后注明提及的日期；如果能推断出事情发生或计划的日期，也一并注明。
          请根据消息时间换算"昨天"、"下周五"、"四年前"等相对时间，模糊的说法可以只精确到年或月。消息时间未知时不要写任何日期。
        - 每行末尾加上" // "和记录类型：info（用户信息）、event（发生的事情）、schedule（计划或约定）。
        - 人名、数字和地点保持用户的原话，使用对话所用的语言书写。
        - 只记录用户说出或明确确认的内容，忽略用户没有接受的助手建议。
        - "Already Logged"下的内容已经记录过，只有发生变化时才再次记录。
        - 如果对话中没有值得记录的内容，什么都不要输出。
        {additionalRequirements}

        ## 值得关注的主题
        {topics}

        ## 值得关注的事件类型
        {(string.IsNullOrWhiteSpace(eventTags) ? "（无）" : eventTags)}

        ## 行格式
        - <用户所说或发生的事情>[mention <日期>, <happen|plan> <日期>] // <info|event|schedule>

        ## 示例
        对话：
        [2024/03/10] user: 我叫小林，在杭州当护士。昨天我终于领养了一只猫！
        [2024/03/10] assistant: 恭喜！它叫什么名字？
        [2024/03/10] user: 叫年糕。下周五我要带它去打疫苗。
        日志：
        - 用户叫小林[mention 2024/03/10] // info
        - 小林在杭州当护士[mention 2024/03/10] // info
        - 小林领养了一只名叫年糕的猫[mention 2024/03/10, happen 2024/03/09] // event
        - 小林计划带年糕去打疫苗[mention 2024/03/10, plan 2024/03/15] // schedule
        """;
}
