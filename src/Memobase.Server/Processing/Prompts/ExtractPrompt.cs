using Memobase.Server.Llm;
namespace Memobase.Server.Processing.Prompts;

/// <summary>
/// Call 2: the memo of call 1 → profile facts, one <c>- TOPIC{sep}SUB_TOPIC{sep}MEMO</c> line each, after the
/// model's reasoning and a <c>---</c> line.
/// </summary>
public static class ExtractPrompt
{
    /// <param name="language"><c>en</c> or <c>zh</c>.</param>
    /// <param name="persona">The <c>system_prompt</c> option; null: the default persona.</param>
    /// <param name="topics">The rendered topic list.</param>
    /// <param name="separator"><c>llm_tab_separator</c>.</param>
    public static string System(string language, string? persona, string topics, string separator)
        => language == "zh" ? Zh(persona, topics, separator) : En(persona, topics, separator);

    /// <param name="language"><c>en</c> or <c>zh</c>.</param>
    /// <param name="strict">Strict mode: forbid topics outside the list.</param>
    /// <param name="alreadyLogged">The user's existing slots (<c>- topic::sub_topic::value...</c> lines).</param>
    /// <param name="memo">The call-1 output (or the packed summary blobs).</param>
    public static string User(string language, bool strict, string alreadyLogged, string memo)
    {
        var header = !strict ? ""
            : language == "zh"
                ? "#### 主题限制\n只能使用指南中列出的主题和子主题，不要创建新的主题或子主题；放不进去的信息直接丢弃。\n\n"
                : "#### Topic constraint\nUse only the topics and sub-topics listed in the guidelines. Do not create new ones; drop information that fits none of them.\n\n";
        return $"""
            {header}#### User Before topics
            {alreadyLogged}

            #### Memo
            {memo}
            """;
    }

    private const string DefaultPersonaEn =
        "You are an experienced psychologist who builds a structured profile of a person from notes about them.";

    private const string DefaultPersonaZh = "你是一位经验丰富的心理学家，擅长根据关于一个人的记录整理出结构化的个人画像。";

    private static string En(string? persona, string topics, string sep) => $"""
        {PromptStages.Marker(PromptStages.Extract)}
        {(string.IsNullOrWhiteSpace(persona) ? DefaultPersonaEn : persona)}

        ## Task
        Extract the facts the memo reveals about the user, each filed under a topic and a sub-topic.
        - Prefer the topics and sub-topics of the guidelines below; when none fits, you may create one, unless told otherwise.
        - "User Before topics" lists the user's existing slots: use the same names for the same kind of information.
        - A fact is about the user: who they are, what they like, do or plan, what happened to them.
        - Keep the memo's time annotations (such as [mention 2024/03/10, happen 2024/03/09]) in the fact.
        - Never output a fact whose value is empty, unknown or not mentioned.
        - Write the facts in the language of the memo.

        ## Guidelines (topics and sub-topics)
        {topics}

        ## Output
        First think briefly, then write a line containing only ---, then one fact per line and nothing else:
        - TOPIC{sep}SUB_TOPIC{sep}MEMO

        ## Example
        Memo:
        - The user's name is Tom[mention 2024/03/10] // info
        - Tom adopted a cat named Mochi[mention 2024/03/10, happen 2024/03/09] // event
        - Tom runs every morning and prefers tea over coffee[mention 2024/03/10] // info
        Output:
        The user's name, a new pet, a habit and a taste.
        ---
        - basic_info{sep}name{sep}Tom
        - life_event{sep}pet{sep}Adopted a cat named Mochi[mention 2024/03/10, happen 2024/03/09]
        - interest{sep}sports{sep}Runs every morning[mention 2024/03/10]
        - interest{sep}foods{sep}Prefers tea over coffee[mention 2024/03/10]
        """;

    private static string Zh(string? persona, string topics, string sep) => $"""
        {PromptStages.Marker(PromptStages.Extract)}
        {(string.IsNullOrWhiteSpace(persona) ? DefaultPersonaZh : persona)}

        ## 任务
        提取备忘录中关于用户的事实，把每条事实归入一个主题和子主题。
        - 优先使用下方指南中的主题和子主题；都不合适时可以新建，除非另有说明。
        - "User Before topics"列出了用户已有的条目，同类信息请使用相同的名称。
        - 事实是关于用户本人的信息：身份、喜好、正在做或计划做的事、发生在用户身上的事。
        - 保留备忘录中的时间标注（例如[mention 2024/03/10, happen 2024/03/09]）。
        - 不要输出值为空、未知或未提及的事实。
        - 使用备忘录的语言书写。

        ## 指南（主题与子主题）
        {topics}

        ## 输出
        先简要思考，然后单独写一行---，之后每行一条事实，不要输出其他内容：
        - 主题{sep}子主题{sep}内容

        ## 示例
        备忘录：
        - 用户叫小林[mention 2024/03/10] // info
        - 小林领养了一只名叫年糕的猫[mention 2024/03/10, happen 2024/03/09] // event
        - 小林每天早上跑步，喜欢喝茶胜过咖啡[mention 2024/03/10] // info
        输出：
        用户的名字、一只新宠物、一个习惯和一个口味。
        ---
        - 基本信息{sep}用户姓名{sep}小林
        - 人生大事{sep}宠物{sep}领养了一只名叫年糕的猫[mention 2024/03/10, happen 2024/03/09]
        - 生活方式{sep}运动习惯{sep}每天早上跑步[mention 2024/03/10]
        - 兴趣爱好{sep}美食{sep}喜欢喝茶胜过咖啡[mention 2024/03/10]
        """;
}
