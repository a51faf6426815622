using System.Globalization;
using System.Text;

namespace Memobase.Bench;

// Upstream Memobase's prompts, for scenario 7's comparison of prompt tokens per flush.
//
// Source: https://github.com/memodb-io/memobase, commit 358c16bbc6d687937d79bc2f984a11c3be8da901 (2026-01-11),
// licensed under the Apache License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). The template texts
// below are copied verbatim from src/server/api/memobase_server/prompts/summary_entry_chats.py (SUMMARY_PROMPT,
// pack_input), extract_profile.py (DEFAULT_JOB, FACT_RETRIEVAL_PROMPT, EXAMPLES, pack_input), merge_profile_yolo.py
// (MERGE_FACTS_PROMPT, get_input), user_profile_topics.py (CANDIDATE_PROFILE_TOPICS) and profile_init_utils.py
// (formate_profile_topic); the way they are filled in follows controllers/modal/chat/entry_summary.py, extract.py,
// merge_yolo.py and utils.py (pack_current_user_profiles) of the same commit, with upstream's default configuration
// (language en, llm_tab_separator "::", no system_prompt, no event tags, profile_strict_mode off,
// profile_validate_mode on, event_theme_requirement "Focus on the user's infos, not its instructions.").

/// <summary>
/// Renders upstream's system prompt and user message of each LLM call of one chat flush for given inputs, exactly as
/// upstream's Python code builds them (<c>str.format</c>, f-strings, <c>str(list_of_dicts)</c> for the merge input).
/// </summary>
internal static class UpstreamPrompts
{
    private const string Tab = "::";

    private const string EventThemeRequirement = "Focus on the user's infos, not its instructions.";

    /// <summary>user_profile_topics.py CANDIDATE_PROFILE_TOPICS (names as attribute_unify leaves them).</summary>
    private static readonly (string Topic, (string Name, string? Description)[] SubTopics)[] DefaultTopics =
    [
        ("basic_info", [("name", null), ("age", "integer"), ("gender", null), ("birth_date", null), ("nationality", null), ("ethnicity", null), ("language_spoken", null)]),
        ("contact_info", [("email", null), ("phone", null), ("city", null), ("country", null)]),
        ("education", [("school", null), ("degree", null), ("major", null)]),
        ("demographics", [("marital_status", null), ("number_of_children", null), ("household_income", null)]),
        ("work", [("company", null), ("title", null), ("working_industry", null), ("previous_projects", null), ("work_skills", null)]),
        ("interest", [("books", null), ("movies", null), ("music", null), ("foods", null), ("sports", null)]),
        ("psychological", [("personality", null), ("values", null), ("beliefs", null), ("motivations", null), ("goals", null)]),
        ("life_event", [("marriage", null), ("relocation", null), ("retirement", null)]),
    ];

    /// <summary>prompts/summary_entry_chats.py SUMMARY_PROMPT, verbatim (Python <c>str.format</c> placeholders).</summary>
    internal const string SummaryPrompt = """
You are a expert of logging personal info, schedule, events from chats.
You will be given a chats between a user and an assistant.

## Requirement
- You need to list all possible user info, schedule and events
- {additional_requirements}
- If the user event/schedule has specific mention time or event happen time. Convert the event date info in the message based on [TIME] after your log. for example
    Input: `[2024/04/30] user: I bought a new car yesterday!`
    Output: `user bought a new car. [mention 2024/04/30, buy car in 2024/04/29]`
    Input: `[2024/04/30] user: I bought a car 4 years ago!`
    Output: `user bought a car. [mention 2024/04/30, buy car in 2020]`
    Explain: because you don't know the exact date, only year, so 2024-4=2020. or you can log at [4 years before 2024/04/30]
    Input: `[2024/04/30] user: I bought a new car last week!`
    Output: `user bought a new car. [mention 2024/04/30, buy car in 2024/04/30 a week before]`
    Explain: because you don't know the exact date.
    Input: `[...] user: I bought a new car last week!`
    Output: `user bought a new car.`
    Explain: because you don't know the exact date, so don't attach any date.

### Important Info
Below is the topics/subtopics you should log from the chats.
<topics>
{topics}
</topics>
Below is the important attributes you should log from the chats.
<attributes>
{attributes}
</attributes>


## Input Format
### Already Logged
You will receive a list of previous logging result, you should also log the relevant infos that maybe related to those already logged.
Pervious result in organized in Profile-format:
- TOPIC{separator}SUBTOPIC{separator}CONTENT... // maybe truncated

### Input Chats
You will receive a conversation between the user and the assistant. The format of the conversation is:
- [TIME] NAME: MESSAGE
where NAME is ALIAS(ROLE) or just ROLE, when ALIAS is available, use ALIAS to refer user/assistant.
MESSAGE is the content of the conversation.
TIME is the time of this message happened, so you need to convert the date info in the message based on TIME if necessary.

## Output Format
- LOGGING[TIME INFO] // TYPE
Output your logging result in Markdown unorder list format.
For example:
```
- Jack paint a picture about his kids.[mention 2023/1/23] // event
- User's alias is Jack, assistant is Melinda. // info
- Jack mentioned his work is software engineer in Memobase. [mention 2023/1/23] // info
- Jack plans to go the gym. [mention 2023/1/23, plan in 2023/1/24] // schedule
...
```
Always add specific mention time of your log, and the event happen time if possible.
Remember, make sure your logging is pure and concise, any time info should move to [TIME INFO] block.

## Content Requirement
- You need to list all possible user info, schedule and events
- {additional_requirements}

Now perform your task.

""";

    /// <summary>prompts/extract_profile.py DEFAULT_JOB, verbatim (Python <c>str.format</c> placeholders).</summary>
    internal const string ExtractDefaultJob = """
You are a professional psychologist.
Your responsibility is to carefully read out the memo of user and extract the important profiles of user in structured format.
Then extract relevant and important facts, preferences about the user that will help evaluate the user's state.
You will not only extract the information that's explicitly stated, but also infer what's implied from the conversation.

""";

    /// <summary>prompts/extract_profile.py FACT_RETRIEVAL_PROMPT (its one `\n` escape is a real line break here, as Python reads it), verbatim (Python <c>str.format</c> placeholders).</summary>
    internal const string ExtractPrompt = """
{system_prompt}
## Formatting
### Input
#### Topics Guidelines
You'll be given some user-relatedtopics and subtopics that you should focus on collecting and extracting.
Don't collect topics that are not related to the user, it will cause confusion.
For example, if the memo mentions the position of another person, don't generate a "work{tab}position" topic, it will cause confusion. Only generate a topic if the user mentions their own work.
You can create your own topics/sub_topics if you find it necessary, unless the user requests to not to create new topics/sub_topics.
#### User Before Topics
You will be given the topics and subtopics that the user has already shared with the assistant.
Consider use the same topic/subtopic if it's mentioned in the conversation again.
#### Memos
You will receive a memo of user in Markdown format, which states user infos, events, preferences, etc.
The memo is summarized from the chats between user and a assistant.

### Output
#### Think
You need to think about what's topics/subtopics are mentioned in the memo, or what implications can be inferred from the memo.
#### Profile
After your steps of thinking, you need to extract the facts and preferences from the memo and place them in order list:
- TOPIC{tab}SUB_TOPIC{tab}MEMO
For example:
- basic_info{tab}name{tab}melinda
- work{tab}title{tab}software engineer
For each line is a fact or preference, containing:
1. TOPIC: topic represents of this preference
2. SUB_TOPIC: the detailed topic of this preference
3. MEMO: the extracted infos, facts or preferences of `user`
those elements should be separated by `{tab}` and each line should be separated by `
` and started with "- ".

Final output template:
```
[POSSIBLE TOPICS THINKING...]
---
- TOPIC{tab}SUB_TOPIC{tab}MEMO
- ...
```

## Extraction Examples
Here are some few shot examples:
{examples}
Return the facts and preferences in a markdown list format as shown above.
Only extract the attributes with actual values, if the user does not provide any value, do not extract it.
You need to first think, then extract the facts and preferences from the memo.


#### Topics Guidelines
Below is the list of topics and subtopics that you should focus on collecting and extracting:
{topic_examples}


Remember the following:
- If the user mentions time-sensitive information, try to infer the specific date from the data.
- Use specific dates when possible, never use relative dates like "today" or "yesterday" etc.
- If you do not find anything relevant in the below conversation, you can return an empty list.
- Make sure to return the response in the format mentioned in the formatting & examples section.
- You should infer what's implied from the conversation, not just what's explicitly stated.
- Place all content related to this topic/sub_topic in one element, no repeat.
- The memo will have two types of time, one is the time when the memo is mentioned, the other is the time when the event happened. Both are important, don't mix them up.

Now perform your task.
Following is a conversation between the user and the assistant. You have to extract/infer the relevant facts and preferences from the conversation and return them in the list format as shown above.

""";

    /// <summary>prompts/merge_profile_yolo.py MERGE_FACTS_PROMPT, verbatim (Python <c>str.format</c> placeholders).</summary>
    internal const string MergeYoloPrompt = """
You are responsible for maintaining user memos.
Your job is to determine how new supplementary information should be merged with current memos.
Users will provide a series of memo topics/subtopics, along with topic descriptions and specific update requirements (which may be empty).
For each piece of supplementary information, you should determine whether the new information should be directly added, update the current corresponding memo, or be discarded.

## Input Format
```
{{
    "memo_id": "1",
    "new_info": "",
    "current_memo": "",
    "topic": "",
    "subtopic": "",
    "topic_description": "",
    "update_instruction": "",
}}
{{
    "memo_id": "2",
    ...
}}
...
```
When evaluating each memo, you need to consider whether it aligns with the topic and update description.

Here are your output actions:
1. Direct Add: If the supplementary information brings new insights, you should add it directly. If the current memo is empty, you should add the supplementary information directly.
2. Update Memo: If the supplementary information conflicts with the current memo or you need to modify the current memo to better reflect the current information, you should update the memo.
3. Discard Merge: If the supplementary information has no value, is completely contained within the current memo, or doesn't meet the current memo's content requirements, you should discard the merge.

## Reasoning
Before outputting your action, you need to first consider the following:
1. Whether the supplementary information aligns with the memo's topic description
    1.1. If it doesn't align, determine if you can modify the supplementary information to meet the memo requirements, then process your modified supplementary information
    1.2. If you cannot modify the supplementary information to satisfy the topic description, you should discard the merge
3. For supplementary information that meets the current memo requirements, you need to refer to the above description to determine your output action
4. If you choose to update the memo, also consider whether other parts of the current memo can be streamlined or removed.

Additional considerations:
1. The current memo may be empty. In this case, after reasoning step 1, if you can obtain supplementary information that meets the requirements, add it directly
2. If the update requirement is not empty, you need to refer to the user's update requirements in your reasoning

## Output Actions
Assuming you are processing the Nth piece of supplementary information (memo_id=N), you should make the following judgment:
### Direct Add
```
N. APPEND{tab}APPEND
```
If choosing to add directly, simply output the word `APPEND`, no need to restate the content
### Update Memo
```
N. UPDATE{tab}[UPDATED_MEMO]
```
In `[UPDATED_MEMO]`, you need to rewrite the complete updated current memo
### Discard Merge
```
N. ABORT{tab}ABORT
```
If choosing to discard the merge, simply output the word `ABORT`, no need to restate the content

## Output Template
Based on the above instructions, your output should follow this template:

THOUGHT
---
1. ACTION{tab}...
2. ACTION{tab}...
...

Where:
- `THOUGHT` is your reasoning process
- `N. ACTION{tab}...` is your operation for the Nth piece of supplementary information (memo_id=N)

## Examples
### Input Example
{{
    "memo_id": "1",
    "new_info": "Preparing for final exams [mentioned on 2025/06/01]",
    "current_memo": "Preparing for midterm exams [mentioned on 2025/04/01]",
    "topic": "Study",
    "subtopic": "Exam goals",
    "update_instruction": "Each time you update goals, consider whether there are outdated or conflicting goals and remove them",
}}
{{
    "memo_id": "2",
    "new_info": "Using Duolingo to self-study Japanese",
    "current_memo": "",
    "topic": "Study",
    "subtopic": "Software usage",
}}
{{
    "memo_id": "3",
    "new_info": "User likes eating hot pot",
    "current_memo": "",
    "topic": "Interests",
    "subtopic": "Sports",
}}

### Output Example
```
The supplementary information mentions that the user's current study goal is to prepare for final exams, which aligns with the topic description of recording the user's study goals. However, there's a conflict between final exams and midterm exams, so we need to remove the midterm exam goal and update it to final exams.
Additionally, the user mentioned they are using Duolingo for language learning, which meets the software usage requirement. Since memo ID 2 has an empty current memo, we can add it directly.
Liking hot pot doesn't belong to sports interests, and we cannot derive potential interests from this information, so we discard the merge.
---
1. UPDATE{tab}Preparing for final exams [mentioned on 2025/06/01];
2. APPEND{tab}APPEND
3. ABORT{tab}ABORT
```

## Requirements
You must follow these requirements:
- Strictly adhere to the correct output format.
- Ensure updated memos do not exceed 5 sentences. Always maintain conciseness and output memo key points.
- Never fabricate content not mentioned in the input.
- Preserve time annotations from old and new memos (e.g., XXX[mentioned on 2025/05/05, occurred in 2022]).
- If deciding to update, ensure the final memo is concise without redundant information (e.g., "User is sad; User's mood is sad" == "User is sad").

That's all the content. Now execute your work.

""";

    /// <summary>
    /// user_profile_topics.get_prompt: formate_profile_topic per topic (<c>- topic (description)</c>, then one
    /// <c>  - name(description)</c> line per sub-topic), joined by line breaks, then a line <c>...</c>.
    /// </summary>
    internal static string TopicList()
    {
        var topics = DefaultTopics.Select(t => $"- {t.Topic} ()\n" + string.Join('\n',
            t.SubTopics.Select(s => $"  - {s.Name}" + (s.Description is null ? "" : $"({s.Description})"))));
        return string.Join('\n', topics) + "\n...";
    }

    /// <summary>The topic description of a default slot (upstream's DEFINE_MAPS), or null.</summary>
    private static string? DescriptionOf(string topic, string subTopic)
        => DefaultTopics.Where(t => t.Topic == topic).SelectMany(t => t.SubTopics).FirstOrDefault(s => s.Name == subTopic).Description;

    /// <summary>
    /// pack_current_user_profiles' already_topics_prompt: the profiles sorted by (topic, sub_topic), one
    /// <c>- topic::sub_topic::value</c> line each, the value cut to 5 tokens (+ "..." when cut). Empty without profiles.
    /// </summary>
    internal static string AlreadyLogged(IReadOnlyList<(string Topic, string SubTopic, string Content)> profiles)
        => string.Join('\n', profiles.OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.SubTopic, StringComparer.Ordinal)
            .Select(p => $"- {p.Topic}{Tab}{p.SubTopic}{Tab}{TruncateString(p.Content, 5)}"));

    /// <summary>utils.truncate_string.</summary>
    private static string TruncateString(string content, int maxTokens)
    {
        var cut = Memobase.Server.Tokenization.O200kTokenizer.Instance.Truncate(content, maxTokens);
        return cut == content ? content : cut + "...";
    }

    /// <summary>Call 1 (entry_summary.py): system prompt and user message.</summary>
    internal static (string System, string User) EntrySummary(string alreadyLogged, string chats)
    {
        var system = PyFormat(SummaryPrompt, ("topics", TopicList()), ("attributes", ""),
            ("additional_requirements", EventThemeRequirement), ("separator", Tab));
        var user = $"### Already Logged\n{alreadyLogged}\n### Input Chats\n{chats}\n";
        return (system, user);
    }

    /// <summary>Call 2 (extract.py, strict mode off): system prompt and user message for the memo of call 1.</summary>
    internal static (string System, string User) Extract(string alreadyLogged, string memo)
    {
        var examples = string.Join("\n\n", new[]
        {
            ("- User say Hi to assistant.\n", "NONE"),
            ("\n- User's favorite movies are Inception and Interstellar [mention 2025/01/01]\n- User's favorite movie is Tenet [mention 2025/01/02]\n",
                $"- interest{Tab}movie{Tab}Inception, Interstellar[mention 2025/01/01]; favorite movie is Tenet [mention 2025/01/02]\n" +
                $"- interest{Tab}movie_director{Tab}user seems to be a big fan of director Christopher Nolan"),
        }.Select(e => $"<example>\n<input>{e.Item1}</input>\n<output>\n{e.Item2}\n</output>\n</example>\n"));
        var system = PyFormat(ExtractPrompt, ("system_prompt", ExtractDefaultJob), ("examples", examples), ("tab", Tab), ("topic_examples", TopicList()));
        var user = $"\n#### User Before topics\n{alreadyLogged}\nDon't output the topics and subtopics that are not mentioned in the following conversation.\n#### Memo\n{memo}\n";
        return (system, user);
    }

    /// <summary>
    /// Call 3 (merge_yolo.py): the facts of call 2's reply parsed as parse_string_into_profiles does (lines starting
    /// with "- ", exactly three <c>::</c> parts, names through attribute_unify), same-slot facts joined with "; "
    /// (merge_by_topic_sub_topics), one item per fact with the slot's current memo, printed as Python prints the list.
    /// </summary>
    /// <returns>The prompts and the number of merge items.</returns>
    internal static (string System, string User, int Items) Merge(string extractReply, IReadOnlyList<(string Topic, string SubTopic, string Content)> profiles)
    {
        var facts = new List<(string Topic, string SubTopic, string Memo)>();
        foreach (var raw in extractReply.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || !line.StartsWith("- ", StringComparison.Ordinal)) continue;
            var parts = line[2..].Split(Tab);
            if (parts.Length != 3) continue;
            var (topic, subTopic, memo) = (Unify(parts[0]), Unify(parts[1]), parts[2].Trim());
            var at = facts.FindIndex(f => f.Topic == topic && f.SubTopic == subTopic);
            if (at >= 0) facts[at] = facts[at] with { Memo = facts[at].Memo + "; " + memo };
            else facts.Add((topic, subTopic, memo));
        }
        var current = profiles.ToDictionary(p => (p.Topic, p.SubTopic), p => p.Content);
        var items = facts.Select((f, i) => "{" + string.Join(", ",
            $"'memo_id': {(i + 1).ToString(CultureInfo.InvariantCulture)}",
            $"'new_info': {PyRepr(f.Memo)}",
            $"'current_memo': {PyRepr(current.GetValueOrDefault((f.Topic, f.SubTopic), ""))}",
            $"'topic': {PyRepr(f.Topic)}",
            $"'subtopic': {PyRepr(f.SubTopic)}",
            $"'topic_description': {(DescriptionOf(f.Topic, f.SubTopic) is { } d ? PyRepr(d) : "None")}",
            "'update_instruction': None") + "}");
        var user = $"\n[{string.Join(", ", items)}]\n";
        return (PyFormat(MergeYoloPrompt, ("tab", Tab)), user, facts.Count);
    }

    private static string Unify(string value) => value.ToLowerInvariant().Trim().Replace(' ', '_');

    /// <summary>Python's <c>str.format</c> with named fields only: <c>{name}</c> is replaced, <c>{{</c> and <c>}}</c> are braces.</summary>
    internal static string PyFormat(string template, params (string Name, string Value)[] fields)
    {
        var sb = new StringBuilder(template.Length + 4096);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < template.Length && template[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c == '{')
            {
                var end = template.IndexOf('}', i);
                var name = template[(i + 1)..end];
                var field = fields.FirstOrDefault(f => f.Name == name);
                sb.Append(field.Value ?? throw new ArgumentException($"no value for {{{name}}}"));
                i = end;
                continue;
            }
            if (c == '}') throw new ArgumentException("single '}' in a format string");
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Python's <c>repr(str)</c>: single quotes unless the text has a single and no double quote; escapes as CPython.</summary>
    internal static string PyRepr(string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        foreach (var r in s.EnumerateRunes())
        {
            var v = r.Value;
            if (v == quote || v == '\\') sb.Append('\\').Append((char)v);
            else if (v == '\t') sb.Append("\\t");
            else if (v == '\n') sb.Append("\\n");
            else if (v == '\r') sb.Append("\\r");
            else if (v < 0x20 || v == 0x7f) sb.Append(CultureInfo.InvariantCulture, $"\\x{v:x2}");
            else if (v < 0x7f || IsPrintable(r)) sb.Append(r.ToString());
            else if (v < 0x100) sb.Append(CultureInfo.InvariantCulture, $"\\x{v:x2}");
            else if (v < 0x10000) sb.Append(CultureInfo.InvariantCulture, $"\\u{v:x4}");
            else sb.Append(CultureInfo.InvariantCulture, $"\\U{v:x8}");
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python's <c>str.isprintable</c> for one character: not Cc, Cf, Cs, Co, Cn, Zl, Zp, nor a separator other than space.</summary>
    private static bool IsPrintable(Rune r) => Rune.GetUnicodeCategory(r) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => false,
        UnicodeCategory.SpaceSeparator => r.Value == ' ',
        _ => true,
    };
}
