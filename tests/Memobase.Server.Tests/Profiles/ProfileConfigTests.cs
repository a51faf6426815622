using Memobase.Server.Profiles;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Processing;
using Microsoft.Extensions.DependencyInjection;
using Memobase.Server.Content;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Profiles;

public sealed class ProfileConfigTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \n")]
    [InlineData("# only a comment\n")]
    [InlineData("null")]
    [InlineData("~")]
    public void Empty_configs_are_valid(string? yaml)
    {
        var (config, error) = ProfileConfig.Parse(yaml);

        Assert.Null(error);
        Assert.Equal(ProfileConfig.Empty, config);
        Assert.Null(config!.Language);
        Assert.Null(config.ProfileStrictMode);
        Assert.Null(config.OverwriteUserProfiles);
        Assert.Null(config.EventTags);
        Assert.Empty(config.AdditionalUserProfiles);
    }

    [Theory]
    [InlineData("[[[")]
    [InlineData("key: [unclosed")]
    [InlineData("a: b: c")]
    public void Invalid_yaml_is_rejected(string yaml)
    {
        var (config, error) = ProfileConfig.Parse(yaml);

        Assert.Null(config);
        Assert.StartsWith("Invalid profile config: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error!);
    }

    [Fact]
    public void A_non_string_sub_topic_description_is_rejected()
    {
        var yaml = """
            overwrite_user_profiles:
              - topic: interest
                sub_topics:
                  - name: games
                    description: true
            """;

        var (config, error) = ProfileConfig.Parse(yaml);

        Assert.Null(config);
        Assert.Equal("Invalid profile config: overwrite_user_profiles.0.sub_topics.0.description: Input should be a valid string", error);
    }

    [Theory]
    [InlineData("- a\n- b", "the YAML must be a mapping of keys to values, got a list")]
    [InlineData("just text", "the YAML must be a mapping of keys to values, got a string")]
    [InlineData("profile_strict_mode: maybe", "profile_strict_mode: Input should be a valid boolean")]
    [InlineData("additional_user_profiles: {topic: x}", "additional_user_profiles: Input should be a valid list")]
    [InlineData("overwrite_user_profiles: [ {description: x} ]", "overwrite_user_profiles.0.topic: Field required")]
    [InlineData("overwrite_user_profiles: [ {topic: 12} ]", "overwrite_user_profiles.0.topic: Input should be a valid string")]
    [InlineData("overwrite_user_profiles: [ {topic: x, colour: red} ]", "overwrite_user_profiles.0: unexpected key 'colour' (allowed: topic, description, sub_topics)")]
    [InlineData("overwrite_user_profiles: [ {topic: x, sub_topics: a} ]", "overwrite_user_profiles.0.sub_topics: Input should be a valid list")]
    [InlineData("overwrite_user_profiles: [ {topic: x, sub_topics: [ 5 ]} ]", "overwrite_user_profiles.0.sub_topics.0: Input should be a valid string or dictionary")]
    [InlineData("overwrite_user_profiles: [ {topic: x, sub_topics: [ {name: a, validate_value: sometimes} ]} ]", "overwrite_user_profiles.0.sub_topics.0.validate_value: Input should be a valid boolean")]
    [InlineData("event_tags: [ {description: d} ]", "event_tags.0.name: Field required")]
    [InlineData("event_tags: tagname", "event_tags: Input should be a valid list")]
    [InlineData("event_theme_requirement: [a]", "event_theme_requirement: Input should be a valid string")]
    public void Schema_errors_name_the_path(string yaml, string expected)
    {
        var (config, error) = ProfileConfig.Parse(yaml);

        Assert.Null(config);
        Assert.Equal("Invalid profile config: " + expected, error);
    }

    [Fact]
    public void A_full_config_is_parsed_and_names_are_normalised()
    {
        var yaml = """
            language: zh
            profile_strict_mode: yes
            profile_validate_mode: false
            event_theme_requirement: Focus on travel.
            max_profile_subtopics: 3   # global-only: ignored
            something_else: {a: 1}
            overwrite_user_profiles:
              - topic: Travel Plans
                description: trips
                sub_topics:
                  - Next Trip
                  - name: Budget
                    description: money
                    update_description: keep the latest
                    validate_value: true
                    extra: ignored
              - topic: misc
            additional_user_profiles:
              - topic: extra
                sub_topics: [one]
            event_tags:
              - Mood
              - name: goal
                description: aims
              - name: plain
                description:
            """;

        var (config, error) = ProfileConfig.Parse(yaml);

        Assert.Null(error);
        Assert.Equal("zh", config!.Language);
        Assert.True(config.ProfileStrictMode);
        Assert.False(config.ProfileValidateMode);
        Assert.Equal("Focus on travel.", config.EventThemeRequirement);
        var travel = config.OverwriteUserProfiles![0];
        Assert.Equal("travel_plans", travel.Topic);
        Assert.Equal("trips", travel.Description);
        Assert.Equal([new ProfileSubTopic("next_trip"), new ProfileSubTopic("budget", "money", "keep the latest", true)], travel.SubTopics);
        Assert.Equal(new ProfileTopic("misc", null, []).Topic, config.OverwriteUserProfiles[1].Topic);
        Assert.Empty(config.OverwriteUserProfiles[1].SubTopics);
        Assert.Equal("extra", Assert.Single(config.AdditionalUserProfiles).Topic);
        Assert.Equal([new EventTag("mood", ""), new EventTag("goal", "aims"), new EventTag("plain", "")], config.EventTags);
    }

    [Fact]
    public void Yaml_is_read_like_pyyaml_safe_load()
    {
        // Duplicate keys: the last value wins. Anchors and aliases resolve. Quoted "yes" stays a string.
        var (config, error) = ProfileConfig.Parse("language: en\nlanguage: zh\nbase: &tags [a, b]\nevent_tags: *tags\nevent_theme_requirement: 'yes'");
        Assert.Null(error);
        Assert.Equal("zh", config!.Language);
        Assert.Equal(["a", "b"], config.EventTags!.Select(t => t.Name));
        Assert.Equal("yes", config.EventThemeRequirement);

        Assert.Equal("Invalid profile config: found undefined alias 'nope'", ProfileConfig.Parse("event_tags: *nope").Error);
        Assert.Equal("Invalid profile config: expected a single YAML document, but found more", ProfileConfig.Parse("a: 1\n---\nb: 2").Error);
        Assert.Equal("Invalid profile config: event_theme_requirement: Input should be a valid string", ProfileConfig.Parse("event_theme_requirement: yes").Error);
    }

    [Theory]
    [InlineData("language: ja")]
    [InlineData("language: 5")]
    public void Unsupported_languages_are_ignored(string yaml)
    {
        var (config, error) = ProfileConfig.Parse(yaml);

        Assert.Null(error);
        Assert.Null(config!.Language);
    }

    [Fact]
    public void An_empty_event_tag_list_differs_from_no_list()
    {
        var empty = ProfileConfig.Parse("event_tags: []").Config!.EventTags;
        Assert.NotNull(empty);
        Assert.Empty(empty);
        Assert.Null(ProfileConfig.Parse("event_tags:").Config!.EventTags);
    }

    [Fact]
    public void Settings_resolve_defaults_per_language()
    {
        var global = new ProfileOptions();

        var en = ProfileSettings.Resolve(ProfileConfig.Empty, global);
        var zh = ProfileSettings.Resolve(ProfileConfig.Parse("language: zh").Config, global);

        Assert.Equal("en", en.Language);
        Assert.Equal(8, en.Slots.Count);
        Assert.Equal(DefaultProfileSlots.English, en.Slots);
        Assert.False(en.StrictMode);
        Assert.True(en.ValidateMode);
        Assert.Empty(en.EventTags);
        Assert.Equal(ProfileOptions.DefaultEventThemeRequirement, en.EventThemeRequirement);
        Assert.Equal("zh", zh.Language);
        Assert.Equal(9, zh.Slots.Count);
        Assert.Equal(["毕业年份"], zh.Slots.Single(t => t.Topic == "教育背景").SubTopics.Select(s => s.Name).Where(n => n == "毕业年份"));
        Assert.Equal("integer", en.FindSlot("basic_info", "age")!.Description);
        Assert.True(en.IsConfiguredSlot("work", "title"));
        Assert.False(en.IsConfiguredSlot("work", "salary"));
    }

    [Fact]
    public void Settings_apply_global_then_project_overrides()
    {
        var extra = new ProfileTopic("pets", null, [new ProfileSubTopic("cat")]);
        var only = new ProfileTopic("only", null, [new ProfileSubTopic("one")]);
        var global = new ProfileOptions { AdditionalUserProfiles = [extra], EventTags = [new EventTag("mood", "")], ProfileStrictMode = true };

        var plain = ProfileSettings.Resolve(null, global);
        Assert.Equal(9, plain.Slots.Count);
        Assert.Equal("pets", plain.Slots[^1].Topic);
        Assert.True(plain.StrictMode);

        var projectAdditional = ProfileSettings.Resolve(ProfileConfig.Parse("additional_user_profiles: [{topic: hobby}]\nprofile_strict_mode: false").Config, global);
        Assert.Equal(["pets", "hobby"], projectAdditional.Slots.Skip(8).Select(t => t.Topic));
        Assert.False(projectAdditional.StrictMode);
        Assert.Equal("mood", Assert.Single(projectAdditional.EventTags).Name);

        var projectOverwrite = ProfileSettings.Resolve(ProfileConfig.Parse("overwrite_user_profiles: [{topic: x, sub_topics: [y]}]\nevent_tags: []").Config, global);
        Assert.Equal("x", Assert.Single(projectOverwrite.Slots).Topic);
        Assert.Empty(projectOverwrite.EventTags);
        Assert.Equal(9, projectOverwrite.LanguageDefaults.Count);

        // An empty project overwrite list does not replace anything.
        Assert.Equal(9, ProfileSettings.Resolve(ProfileConfig.Parse("overwrite_user_profiles: []").Config, global).Slots.Count);

        // A global overwrite replaces the defaults, even when empty; additional lists are then ignored globally.
        var globalOverwrite = new ProfileOptions { OverwriteUserProfiles = [only], AdditionalUserProfiles = [extra] };
        Assert.Equal(["only"], ProfileSettings.Resolve(null, globalOverwrite).Slots.Select(t => t.Topic));
        Assert.Empty(ProfileSettings.Resolve(null, new ProfileOptions { OverwriteUserProfiles = [] }).Slots);
        Assert.Equal(["only", "hobby"], ProfileSettings.Resolve(ProfileConfig.Parse("additional_user_profiles: [{topic: hobby}]").Config, globalOverwrite)
            .Slots.Select(t => t.Topic));
    }

    [Fact]
    public void Theme_requirement_falls_back_to_global_when_empty()
    {
        var global = new ProfileOptions { EventThemeRequirement = "global theme" };

        Assert.Equal("global theme", ProfileSettings.Resolve(ProfileConfig.Parse("event_theme_requirement: ''").Config, global).EventThemeRequirement);
        Assert.Equal("mine", ProfileSettings.Resolve(ProfileConfig.Parse("event_theme_requirement: mine").Config, global).EventThemeRequirement);
    }

    [Fact]
    public void Topics_render_one_line_each()
    {
        var topics = new[]
        {
            new ProfileTopic("basic_info", null, [new ProfileSubTopic("name"), new ProfileSubTopic("age", "integer")]),
            new ProfileTopic("travel", "trips", [new ProfileSubTopic("next")]),
            new ProfileTopic("misc", "ignored without sub-topics", []),
        };

        // one line per topic, no empty "()" (issue 14: fewer prompt tokens, same information)
        Assert.Equal("- basic_info: name, age(integer)\n- travel (trips): next\n- misc\n...", ProfileTopicsPrompt.Render(topics));
        Assert.Equal("  - name\n  - age(integer)", ProfileTopicsPrompt.RenderSubTopicsOf("basic_info", topics));
        Assert.Equal("None", ProfileTopicsPrompt.RenderSubTopicsOf("nope", topics));
    }

    [Theory]
    [InlineData("  Basic Info ", "basic_info")]
    [InlineData("Work", "work")]
    [InlineData("兴趣 爱好", "兴趣_爱好")]
    public void Names_are_unified(string name, string expected) => Assert.Equal(expected, ProfileNames.Unify(name));
}

public sealed class ProfileFilterTests
{
    private static readonly IReadOnlyList<ExistingProfile> Profiles =
    [
        PipelineTestHost.Profile("work", "title", "Nurse at the Boston children's hospital since 2019"),
        PipelineTestHost.Profile("basic_info", "name", "Gus"),
        PipelineTestHost.Profile("interest", "foods", "Likes pizza"),
        PipelineTestHost.Profile("interest", "books", "Reads sci-fi"),
    ];

    private static readonly IReadOnlyList<ChatMessage> Chats =
        [.. Enumerable.Range(1, 6).Select(i => new ChatMessage(i % 2 == 1 ? "user" : "assistant", $"message {i}"))];

    [Fact]
    public async Task Picks_the_listed_entries_of_the_sorted_candidates()
    {
        await using var host = await PipelineTestHost.StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.Text("""{"reason": "food talk", "ids": [2, 9, 1, 2]}""");
        var filter = host.Services.GetRequiredService<ProfileFilter>();

        var result = await filter.FilterAsync(Profiles, Chats, null, CancellationToken.None);

        // Sorted: 0 basic_info/name, 1 interest/books, 2 interest/foods, 3 work/title.
        Assert.Equal(["Likes pizza", "Reads sci-fi"], result.Profiles!.Select(p => p.Content));
        Assert.Equal("food talk", result.Reason);
        Assert.Equal(1, result.Usage.Calls);
        var request = Assert.Single(host.Fake.ChatRequests);
        Assert.Equal(PromptStages.ProfileFilter, request.Stage);
        Assert.Equal("summary-model", request.Model);
        Assert.Contains("0. basic_info,name,Gus\n1. interest,books,Reads sci-fi\n2. interest,foods,Likes pizza\n3. work,title,", request.User, StringComparison.Ordinal);
        Assert.EndsWith("...", request.User.TrimEnd(), StringComparison.Ordinal); // the long value is cut to 10 tokens
        Assert.DoesNotContain("message 1", request.User, StringComparison.Ordinal); // only the last 5 messages
        Assert.Contains("A: message 2\nQ: message 3", request.User, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_topics_restrict_the_candidates()
    {
        await using var host = await PipelineTestHost.StartAsync();
        host.Fake.ChatHandler = _ => FakeReply.Text("""{"reason": "r", "ids": [0, 1]}""");
        var filter = host.Services.GetRequiredService<ProfileFilter>();

        var result = await filter.FilterAsync(Profiles, Chats, [" interest "], CancellationToken.None);

        Assert.Equal(["Reads sci-fi", "Likes pizza"], result.Profiles!.Select(p => p.Content));
        Assert.DoesNotContain("basic_info", host.Fake.ChatRequests.Single().User, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_give_null_so_the_caller_uses_all_profiles()
    {
        await using var host = await PipelineTestHost.StartAsync(new Dictionary<string, string?> { ["llm_max_retries"] = "0" });
        var filter = host.Services.GetRequiredService<ProfileFilter>();

        host.Fake.ChatHandler = _ => FakeReply.Text("I think the second one.");
        var unparsable = await filter.FilterAsync(Profiles, Chats, null, CancellationToken.None);
        Assert.Null(unparsable.Profiles);
        Assert.Equal(1, unparsable.Usage.Calls);

        host.Fake.ChatHandler = _ => FakeReply.Status(500);
        Assert.Null((await filter.FilterAsync(Profiles, Chats, null, CancellationToken.None)).Profiles);

        host.Fake.Reset();
        Assert.Null((await filter.FilterAsync(Profiles, [], null, CancellationToken.None)).Profiles);
        Assert.Null((await filter.FilterAsync([], Chats, null, CancellationToken.None)).Profiles);
        Assert.Empty(host.Fake.ChatRequests);
    }

    [Fact]
    public async Task The_default_fake_reply_picks_the_first_entries()
    {
        await using var host = await PipelineTestHost.StartAsync();
        var filter = host.Services.GetRequiredService<ProfileFilter>();

        var result = await filter.FilterAsync(Profiles, Chats, null, CancellationToken.None);

        Assert.Equal(["Gus", "Reads sci-fi", "Likes pizza"], result.Profiles!.Select(p => p.Content));
    }
}
