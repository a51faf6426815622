using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Profiles;

/// <summary>
/// Global profile/event knobs of the processing pipeline, under upstream's config.yaml names (section <c>Memobase</c>;
/// override with <c>MEMOBASE_&lt;KEY&gt;</c>). Projects can override some of them with their profile_config
/// (<see cref="ProfileConfig"/>); <see cref="ProfileSettings.Resolve"/> combines both.
/// </summary>
public sealed class ProfileOptions
{
    public const string DefaultEventThemeRequirement = "Focus on the user's infos, not its instructions.";

    /// <summary>Prompt language and default slots: <c>en</c> or <c>zh</c>.</summary>
    [ConfigurationKeyName("language")]
    [Required]
    public string Language { get; set; } = "en";

    /// <summary>Replaces the default persona of the extraction prompt.</summary>
    [ConfigurationKeyName("system_prompt")]
    public string? SystemPrompt { get; set; }

    /// <summary>Field separator of every line format exchanged with the LLM.</summary>
    [ConfigurationKeyName("llm_tab_separator")]
    [Required]
    public string LlmTabSeparator { get; set; } = "::";

    /// <summary>A topic with more existing sub-topics than this is reorganised into at most <c>value / 2 + 1</c>.</summary>
    [ConfigurationKeyName("max_profile_subtopics")]
    [Range(1, 10_000)]
    public int MaxProfileSubtopics { get; set; } = 15;

    /// <summary>A profile longer than this many tokens is re-summarised (to at most half of it).</summary>
    [ConfigurationKeyName("max_pre_profile_token_size")]
    [Range(2, 1_000_000)]
    public int MaxPreProfileTokenSize { get; set; } = 128;

    /// <summary>Extra instruction for the entry summary.</summary>
    [ConfigurationKeyName("event_theme_requirement")]
    public string? EventThemeRequirement { get; set; } = DefaultEventThemeRequirement;

    /// <summary>Keep only facts for configured slots.</summary>
    [ConfigurationKeyName("profile_strict_mode")]
    public bool ProfileStrictMode { get; set; }

    /// <summary>Send facts for slots the user has no profile in yet through the merge LLM call too.</summary>
    [ConfigurationKeyName("profile_validate_mode")]
    public bool ProfileValidateMode { get; set; } = true;

    // The three lists below mix plain strings and objects, which the configuration binder cannot bind: they are read
    // from the "Memobase" section by ProfileOptionsSetup with the same schema as a project's profile_config.

    /// <summary><c>additional_user_profiles</c>: slots appended to the language's defaults.</summary>
    public IReadOnlyList<ProfileTopic> AdditionalUserProfiles { get; internal set; } = [];

    /// <summary><c>overwrite_user_profiles</c>: when set (even empty), replaces the language's defaults.</summary>
    public IReadOnlyList<ProfileTopic>? OverwriteUserProfiles { get; internal set; }

    /// <summary><c>event_tags</c>: global event tags (plain names or <c>{name, description}</c>).</summary>
    public IReadOnlyList<EventTag> EventTags { get; internal set; } = [];

    internal List<string> SchemaErrors { get; } = [];

    /// <summary>The language's default slots as modified by the global overwrite/additional lists.</summary>
    public IReadOnlyList<ProfileTopic> DefaultSlotsFor(string language)
        => OverwriteUserProfiles is { } overwrite ? overwrite : [.. DefaultProfileSlots.For(language), .. AdditionalUserProfiles];
}

/// <summary>Reads the slot and tag lists of <see cref="ProfileOptions"/> from configuration.</summary>
internal sealed class ProfileOptionsSetup(IConfiguration configuration) : IConfigureOptions<ProfileOptions>
{
    public void Configure(ProfileOptions options)
    {
        var section = configuration.GetSection("Memobase");
        options.SchemaErrors.Clear();
        try
        {
            options.AdditionalUserProfiles = ConfigTree.Topics(Read(section, "additional_user_profiles"), "additional_user_profiles") ?? [];
        }
        catch (ConfigSchemaException ex)
        {
            options.SchemaErrors.Add(ex.Message);
        }
        try
        {
            options.OverwriteUserProfiles = ConfigTree.Topics(Read(section, "overwrite_user_profiles"), "overwrite_user_profiles");
        }
        catch (ConfigSchemaException ex)
        {
            options.SchemaErrors.Add(ex.Message);
        }
        try
        {
            options.EventTags = ConfigTree.EventTags(Read(section, "event_tags"), "event_tags") ?? [];
        }
        catch (ConfigSchemaException ex)
        {
            options.SchemaErrors.Add(ex.Message);
        }
    }

    private static object? Read(IConfigurationSection section, string key)
    {
        var child = section.GetSection(key);
        if (!child.Exists()) return null;
        // A JSON/YAML string value holding a list (e.g. from a .NET-style env var) is parsed as YAML.
        if (child.Value is { } raw && !child.GetChildren().Any() && raw.TrimStart().StartsWith('['))
        {
            try
            {
                return ConfigTree.ParseYaml(raw);
            }
            catch (YamlDotNet.Core.YamlException ex)
            {
                throw new ConfigSchemaException($"{key}: {ex.Message}");
            }
        }
        return ConfigTree.FromConfiguration(child);
    }
}

internal sealed class ProfileOptionsValidator : IValidateOptions<ProfileOptions>
{
    public ValidateOptionsResult Validate(string? name, ProfileOptions options)
    {
        var errors = new List<string>(options.SchemaErrors);
        if (options.Language is not ("en" or "zh"))
        {
            errors.Add($"language: '{options.Language}' is not supported; use 'en' or 'zh'.");
        }
        if (string.IsNullOrEmpty(options.LlmTabSeparator))
        {
            errors.Add("llm_tab_separator: must not be empty.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
