namespace Memobase.Server.Profiles;

/// <summary>The built-in profile slots per language (upstream's default topic lists, names normalised).</summary>
public static class DefaultProfileSlots
{
    /// <summary>English defaults: 8 topics.</summary>
    public static IReadOnlyList<ProfileTopic> English { get; } =
    [
        Topic("basic_info", S("name"), S("age", "integer"), S("gender"), S("birth_date"), S("nationality"), S("ethnicity"), S("language_spoken")),
        Topic("contact_info", S("email"), S("phone"), S("city"), S("country")),
        Topic("education", S("school"), S("degree"), S("major")),
        Topic("demographics", S("marital_status"), S("number_of_children"), S("household_income")),
        Topic("work", S("company"), S("title"), S("working_industry"), S("previous_projects"), S("work_skills")),
        Topic("interest", S("books"), S("movies"), S("music"), S("foods"), S("sports")),
        Topic("psychological", S("personality"), S("values"), S("beliefs"), S("motivations"), S("goals")),
        Topic("life_event", S("marriage"), S("relocation"), S("retirement")),
    ];

    /// <summary>Chinese defaults: 9 topics (adds lifestyle; education adds graduation year).</summary>
    public static IReadOnlyList<ProfileTopic> Chinese { get; } =
    [
        Topic("基本信息", S("用户姓名"), S("用户年龄", "整数"), S("性别"), S("出生日期"), S("国籍"), S("民族"), S("语言")),
        Topic("联系信息", S("电子邮件"), S("电话"), S("城市"), S("省份")),
        Topic("教育背景", S("学校"), S("学位"), S("专业"), S("毕业年份")),
        Topic("人口统计", S("婚姻状况"), S("子女数量"), S("家庭收入")),
        Topic("工作", S("公司"), S("职位"), S("工作地点"), S("参与项目"), S("工作技能")),
        Topic("兴趣爱好", S("书籍"), S("电影"), S("音乐"), S("美食"), S("运动")),
        Topic("生活方式", S("饮食偏好", "例如：素食，纯素"), S("运动习惯"), S("健康状况"), S("睡眠模式"), S("吸烟"), S("饮酒")),
        Topic("心理特征", S("性格特点"), S("价值观"), S("信仰"), S("动力"), S("目标")),
        Topic("人生大事", S("婚姻"), S("搬迁"), S("退休")),
    ];

    /// <summary>The defaults of <paramref name="language"/> (<c>zh</c> → Chinese, anything else → English).</summary>
    public static IReadOnlyList<ProfileTopic> For(string language) => language == "zh" ? Chinese : English;

    private static ProfileTopic Topic(string name, params ProfileSubTopic[] subTopics) => new(name, null, subTopics);

    private static ProfileSubTopic S(string name, string? description = null) => new(name, description);
}
