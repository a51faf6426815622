using Memobase.Server.Processing;

namespace Memobase.Server.Tests.Processing;

public sealed class LlmOutputParsersTests
{
    // Expected values computed with CPython 3's difflib.
    [Theory]
    [InlineData("not mentioned", "not mentioned by user", 0.7647058823529411)]
    [InlineData("abcd", "bcde", 0.75)]
    [InlineData("none", "nope", 0.75)]
    [InlineData("private Thread currentThread;", "private volatile Thread currentThread;", 0.8656716417910447)]
    [InlineData("qabxcd", "abycdf", 0.6666666666666666)]
    [InlineData("", "", 1.0)]
    public void Ratio_matches_python_difflib(string a, string b, double expected)
        => Assert.Equal(expected, SequenceMatcher.Ratio(a, b), 12);

    [Fact]
    public void Ratio_applies_autojunk_to_long_sequences_like_python()
    {
        // b has 303 elements: 'a' and 'b' are "popular" and dropped from the index; Python finds only "abc" (3).
        var a = new string('x', 10) + "abc";
        var b = string.Concat(Enumerable.Repeat("ab", 150)) + "abc";
        Assert.Equal(0.0189873417721519, SequenceMatcher.Ratio(a, b), 12);
    }

    [Theory]
    [InlineData("None", new[] { "none" })]
    [InlineData("Not mentioned", new[] { "not mentioned", "not mentioned by user", "not determined" })]
    [InlineData("N/A", new[] { "n/a" })]
    [InlineData("no", new[] { "none" })]
    [InlineData("mentioned", new[] { "not mentioned", "none", "not mentioned by user" })]
    [InlineData("未提及", new[] { "未提及", "用户未提及", "未明确提及" })]
    [InlineData("用户没有提及", new[] { "用户未提及", "没有提到" })]
    [InlineData("Not specified by the user", new[] { "not mentioned by user", "not specified" })]
    [InlineData("Gus", new string[0])]
    [InlineData("Unclear at the moment", new string[0])]
    [InlineData("I don't know", new string[0])]
    [InlineData("杭州", new string[0])]
    public void Close_matches_against_the_meaningless_list_match_python(string memo, string[] expected)
        => Assert.Equal(expected, SequenceMatcher.GetCloseMatches(memo.Trim().ToLowerInvariant(), LlmOutputParsers.MeaninglessValues));

    [Fact]
    public void The_meaningless_list_has_fourteen_chinese_and_fourteen_english_values()
    {
        Assert.Equal(28, LlmOutputParsers.MeaninglessValues.Count);
        Assert.Equal(14, LlmOutputParsers.MeaninglessValues.Count(v => v.All(c => c < 128)));
        Assert.True(LlmOutputParsers.IsMeaningless("  Unknown yet "));
        Assert.False(LlmOutputParsers.IsMeaningless("Likes Dune"));
    }

    [Fact]
    public void Facts_need_a_dash_and_exactly_three_parts()
    {
        var text = """
            Some thinking - with a dash::inside::it
            ---
            - Basic Info::Name::  Gus
            -interest::foods::pizza
            - interest::foods
            - work::title::Doctor::extra
              - interest::Music Taste::Jazz
            - basic_info::age::unknown
            """;

        var facts = LlmOutputParsers.ParseFacts(text, "::");

        Assert.Equal([new ExtractedFact("basic_info", "name", "Gus"), new ExtractedFact("interest", "music_taste", "Jazz")], facts);
    }

    [Fact]
    public void Facts_use_the_configured_separator()
    {
        var facts = LlmOutputParsers.ParseFacts("- a|b|c\n- x::y::z", "|");
        Assert.Equal([new ExtractedFact("a", "b", "c")], facts);
    }

    [Fact]
    public void Same_slot_facts_are_joined()
    {
        var merged = LlmOutputParsers.MergeSameSlot([new("a", "b", "one"), new("c", "d", "x"), new("a", "b", "two")]);
        Assert.Equal([new ExtractedFact("a", "b", "one; two"), new ExtractedFact("c", "d", "x")], merged);
    }

    [Fact]
    public void Merge_actions_are_parsed_by_number()
    {
        var text = """
            Reasoning 1. is here
            ---
            1. UPDATE::Gus::the second
            2.append:: more
            3. ABORT
            10. abort::no
            4. MAYBE::x
            2. APPEND::later wins
            """;

        var actions = LlmOutputParsers.ParseMergeActions(text, "::");

        Assert.Equal(new MergeDecision(MergeAction.Update, "Gus::the second"), actions[1]);
        Assert.Equal(new MergeDecision(MergeAction.Append, "later wins"), actions[2]);
        Assert.Equal(new MergeDecision(MergeAction.Abort, "no"), actions[10]);
        Assert.False(actions.ContainsKey(3));
        Assert.False(actions.ContainsKey(4));
        Assert.Equal(3, actions.Count);
    }

    [Fact]
    public void Named_values_need_exactly_two_parts()
    {
        var values = LlmOutputParsers.ParseNamedValues("- Emotion::happy\n- goal::a::b\n- mood::n/a\nnot a line::x", "::");
        Assert.Equal([new NamedValue("emotion", "happy")], values);
    }

    [Theory]
    [InlineData("""{"reason": "x", "ids": [3, 0, 12]}""", new[] { 3, 0, 12 })]
    [InlineData("ids: [ 1 ,2 ] and later [5]", new[] { 1, 2 })]
    [InlineData("""{"ids": []}""", new int[0])]
    [InlineData("[-1, 2]", new[] { -1, 2 })]
    public void The_first_integer_list_is_found(string text, int[] expected)
        => Assert.Equal(expected, Memobase.Server.Profiles.ProfileFilterReply.FindFirstIntList(text));

    [Fact]
    public void No_integer_list_gives_null()
    {
        Assert.Null(Memobase.Server.Profiles.ProfileFilterReply.FindFirstIntList("""{"ids": ["a"]} no numbers"""));
    }
}
