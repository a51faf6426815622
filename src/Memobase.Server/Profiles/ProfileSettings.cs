using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Memobase.Server.Profiles;

/// <summary>The effective profile settings of one project: project values over global ones.</summary>
public sealed record ProfileSettings(
    string Language,
    bool StrictMode,
    bool ValidateMode,
    IReadOnlyList<ProfileTopic> Slots,
    IReadOnlyList<ProfileTopic> LanguageDefaults,
    IReadOnlyList<EventTag> EventTags,
    string EventThemeRequirement)
{
    private readonly Dictionary<(string, string), ProfileSubTopic> _slotMap = BuildSlotMap(Slots);

    /// <summary>
    /// Resolution order: language = project (en|zh) else global; the language's default slots as modified by the global
    /// <c>overwrite_user_profiles</c> (replaces, when set) or <c>additional_user_profiles</c> (appended); then the
    /// project's non-empty <c>overwrite_user_profiles</c> (only those) or non-empty <c>additional_user_profiles</c>
    /// (appended). Strict/validate modes and the theme requirement: project value if set, else global. Event tags:
    /// project list if not null (even empty), else global.
    /// </summary>
    public static ProfileSettings Resolve(ProfileConfig? project, ProfileOptions global)
    {
        project ??= ProfileConfig.Empty;
        var language = project.Language ?? global.Language;
        var defaults = global.DefaultSlotsFor(language);
        IReadOnlyList<ProfileTopic> slots = project.OverwriteUserProfiles is { Count: > 0 } overwrite ? overwrite
            : project.AdditionalUserProfiles.Count > 0 ? [.. defaults, .. project.AdditionalUserProfiles]
            : defaults;
        return new ProfileSettings(
            language,
            project.ProfileStrictMode ?? global.ProfileStrictMode,
            project.ProfileValidateMode ?? global.ProfileValidateMode,
            slots,
            defaults,
            project.EventTags ?? global.EventTags,
            string.IsNullOrEmpty(project.EventThemeRequirement) ? global.EventThemeRequirement ?? "" : project.EventThemeRequirement);
    }

    /// <summary>The slot definition of (topic, sub_topic), if configured.</summary>
    public ProfileSubTopic? FindSlot(string topic, string subTopic) => _slotMap.GetValueOrDefault((topic, subTopic));

    /// <summary>Whether (topic, sub_topic) — normalised — is a configured slot (what strict mode keeps).</summary>
    public bool IsConfiguredSlot(string topic, string subTopic) => _slotMap.ContainsKey((topic, subTopic));

    /// <summary>The topic list as rendered in prompts (see <see cref="ProfileTopicsPrompt"/>).</summary>
    public string RenderSlots() => ProfileTopicsPrompt.Render(Slots);

    private static Dictionary<(string, string), ProfileSubTopic> BuildSlotMap(IReadOnlyList<ProfileTopic> slots)
    {
        var map = new Dictionary<(string, string), ProfileSubTopic>();
        foreach (var t in slots)
        {
            foreach (var s in t.SubTopics)
            {
                map[(t.Topic, s.Name)] = s; // later definitions win, like upstream's dict comprehension
            }
        }
        return map;
    }
}
