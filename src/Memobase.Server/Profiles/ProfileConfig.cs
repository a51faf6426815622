using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Memobase.Server.Profiles;

/// <summary>One profile sub-topic (slot) definition. <see cref="Name"/> is normalised (lowercase, trimmed, spaces → '_').</summary>
public sealed record ProfileSubTopic(string Name, string? Description = null, string? UpdateDescription = null, bool? ValidateValue = null);

/// <summary>One profile topic definition with its sub-topics. <see cref="Topic"/> is normalised like sub-topic names.</summary>
public sealed record ProfileTopic(string Topic, string? Description, IReadOnlyList<ProfileSubTopic> SubTopics);

/// <summary>One event tag. <see cref="Name"/> is normalised; <see cref="Description"/> is "" when not given.</summary>
public sealed record EventTag(string Name, string Description);

/// <summary>
/// A project's <c>profile_config</c> (upstream's <c>ProfileConfig</c>): a YAML mapping whose known keys override
/// the global configuration for that project. Unknown keys are ignored. Null properties mean "use the global value".
/// </summary>
public sealed record ProfileConfig
{
    /// <summary>The configuration of a project without (or with an empty) profile_config.</summary>
    public static readonly ProfileConfig Empty = new();

    /// <summary>Prefix of every error message returned by <see cref="Parse"/> (upstream's errmsg for errno 400).</summary>
    public const string ErrorPrefix = "Invalid profile config: ";

    /// <summary><c>en</c> or <c>zh</c>; any other value is ignored (null), as upstream does.</summary>
    public string? Language { get; init; }

    public bool? ProfileStrictMode { get; init; }

    public bool? ProfileValidateMode { get; init; }

    /// <summary>Slots appended to the global ones (used only when <see cref="OverwriteUserProfiles"/> is empty).</summary>
    public IReadOnlyList<ProfileTopic> AdditionalUserProfiles { get; init; } = [];

    /// <summary>When non-empty, the project's only slots.</summary>
    public IReadOnlyList<ProfileTopic>? OverwriteUserProfiles { get; init; }

    /// <summary>Extra instruction for the entry summary (null or empty: the global value).</summary>
    public string? EventThemeRequirement { get; init; }

    /// <summary>Null: the global tags; an empty list: no tags (no tagging call).</summary>
    public IReadOnlyList<EventTag>? EventTags { get; init; }

    /// <summary>Longest accepted profile_config, in characters (upstream's limit).</summary>
    public const int MaxLength = 65535;

    /// <summary>Why a profile_config would be refused (too long, bad YAML, bad schema), or null when it is valid.</summary>
    public static string? Validate(string config)
        => config.EnumerateRunes().Count() > MaxLength ? "Profile config is too long" : Parse(config).Error;

    /// <summary>
    /// Parses and validates a project's profile_config YAML. Null, empty or whitespace-only text (or a YAML null) is a
    /// valid empty configuration. On failure <c>Config</c> is null and <c>Error</c> is the complete message the
    /// profile_config endpoint returns with errno 400 (it starts with <see cref="ErrorPrefix"/>), e.g.
    /// <c>Invalid profile config: overwrite_user_profiles.0.sub_topics.1.description: Input should be a valid string</c>.
    /// </summary>
    public static (ProfileConfig? Config, string? Error) Parse(string? yaml)
    {
        if (string.IsNullOrWhiteSpace(yaml))
        {
            return (Empty, null);
        }
        object? root;
        try
        {
            root = ConfigTree.ParseYaml(yaml);
        }
        catch (YamlException ex)
        {
            return (null, ErrorPrefix + OneLine(ex.Message));
        }
        return FromTree(root);
    }

    internal static (ProfileConfig? Config, string? Error) FromTree(object? root)
    {
        if (root is null)
        {
            return (Empty, null);
        }
        if (root is not ConfigTree.Map map)
        {
            return (null, ErrorPrefix + $"the YAML must be a mapping of keys to values, got {ConfigTree.Describe(root)}");
        }
        try
        {
            string? language = null;
            bool? strict = null, validate = null;
            IReadOnlyList<ProfileTopic> additional = [];
            IReadOnlyList<ProfileTopic>? overwrite = null;
            string? theme = null;
            IReadOnlyList<EventTag>? tags = null;
            foreach (var (key, value) in map.Entries)
            {
                switch (key)
                {
                    case "language":
                        language = value is string s && s is "en" or "zh" ? s : null;
                        break;
                    case "profile_strict_mode":
                        strict = ConfigTree.OptionalBool(value, key);
                        break;
                    case "profile_validate_mode":
                        validate = ConfigTree.OptionalBool(value, key);
                        break;
                    case "additional_user_profiles":
                        additional = ConfigTree.Topics(value, key) ?? [];
                        break;
                    case "overwrite_user_profiles":
                        overwrite = ConfigTree.Topics(value, key);
                        break;
                    case "event_theme_requirement":
                        theme = ConfigTree.OptionalString(value, key);
                        break;
                    case "event_tags":
                        tags = ConfigTree.EventTags(value, key);
                        break;
                    default:
                        break; // unknown keys are ignored, like upstream
                }
            }
            return (new ProfileConfig
            {
                Language = language,
                ProfileStrictMode = strict,
                ProfileValidateMode = validate,
                AdditionalUserProfiles = additional,
                OverwriteUserProfiles = overwrite,
                EventThemeRequirement = theme,
                EventTags = tags,
            }, null);
        }
        catch (ConfigSchemaException ex)
        {
            return (null, ErrorPrefix + ex.Message);
        }
    }

    private static string OneLine(string message) => message.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}

internal sealed class ConfigSchemaException(string message) : Exception(message);

/// <summary>
/// A neutral tree (maps, lists, typed scalars) built from YAML or from an <see cref="IConfigurationSection"/>, and the
/// schema checks shared by project profile_config and the global slot/tag options.
/// </summary>
internal static partial class ConfigTree
{
    internal sealed record Map(List<KeyValuePair<string, object?>> Entries);

    /// <summary>
    /// Parses one YAML document into the neutral tree, like PyYAML's <c>safe_load</c>: YAML 1.1 scalars, anchors and
    /// aliases, duplicate keys allowed (the last value wins). An empty stream is null.
    /// </summary>
    /// <exception cref="YamlException">Invalid YAML, an undefined alias or more than one document.</exception>
    internal static object? ParseYaml(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        if (parser.TryConsume<StreamEnd>(out _)) return null;
        parser.Consume<DocumentStart>();
        var reader = new NodeReader(parser);
        var root = reader.Read(0);
        parser.Consume<DocumentEnd>();
        if (!parser.TryConsume<StreamEnd>(out _))
        {
            throw new YamlException("expected a single YAML document, but found more");
        }
        return root;
    }

    /// <summary>Deepest nesting of mappings and sequences a YAML document may have.</summary>
    internal const int MaxDepth = 32;

    /// <summary>Most nodes a document may expand to, counting every use of an alias as a copy of its target.</summary>
    internal const long MaxNodes = 100_000;

    /// <summary>Reads nodes iteratively bounded: nesting is limited so no input can overflow the stack, and aliases are
    /// counted by the size of what they point at so a few anchors cannot expand into billions of nodes.</summary>
    private sealed class NodeReader(IParser parser)
    {
        private readonly Dictionary<string, (object? Value, long Size)> _anchors = new(StringComparer.Ordinal);
        private long _nodes;

        public object? Read(int depth)
        {
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                {
                    throw new YamlException(alias.Start, alias.End, $"found undefined alias '{alias.Value.Value}'");
                }
                Count(target.Size, alias.Start, alias.End);
                return target.Value;
            }
            var start = _nodes;
            Count(1, parser.Current?.Start ?? Mark.Empty, parser.Current?.End ?? Mark.Empty);
            if (parser.TryConsume<Scalar>(out var scalar))
            {
                var value = ResolveScalar(scalar);
                if (!scalar.Anchor.IsEmpty) _anchors[scalar.Anchor.Value] = (value, 1);
                return value;
            }
            if (parser.Current is NodeEvent { Start: var at, End: var end } && parser.Current is SequenceStart or MappingStart && depth >= MaxDepth)
            {
                throw new YamlException(at, end, $"nesting deeper than {MaxDepth} levels");
            }
            if (parser.TryConsume<SequenceStart>(out var sequenceStart))
            {
                var list = new List<object?>();
                while (!parser.TryConsume<SequenceEnd>(out _)) list.Add(Read(depth + 1));
                if (!sequenceStart.Anchor.IsEmpty) _anchors[sequenceStart.Anchor.Value] = (list, _nodes - start);
                return list;
            }
            if (parser.TryConsume<MappingStart>(out var mappingStart))
            {
                var entries = new List<KeyValuePair<string, object?>>();
                var map = new Map(entries);
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = Read(depth + 1);
                    var value = Read(depth + 1);
                    // Non-string keys can never name a known field: keep them under a name no field has.
                    var name = key as string ?? "\0" + Describe(key);
                    var existing = entries.FindIndex(e => e.Key == name);
                    if (existing >= 0) entries[existing] = new(name, value);
                    else entries.Add(new(name, value));
                }
                if (!mappingStart.Anchor.IsEmpty) _anchors[mappingStart.Anchor.Value] = (map, _nodes - start);
                return map;
            }
            throw new YamlException(parser.Current?.Start ?? Mark.Empty, parser.Current?.End ?? Mark.Empty,
                $"unexpected YAML event {parser.Current?.GetType().Name}");
        }

        private void Count(long nodes, Mark start, Mark end)
        {
            _nodes += nodes;
            if (_nodes > MaxNodes) throw new YamlException(start, end, $"more than {MaxNodes} nodes (aliases count as copies)");
        }
    }

    /// <summary>Configuration values are strings: "true"/"false" become booleans, null stays null, the rest stay strings.</summary>
    internal static object? FromConfiguration(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return section.Value switch
            {
                null => null,
                var v when bool.TryParse(v, out var b) => b,
                var v => v,
            };
        }
        if (children.All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)).Select(FromConfiguration).ToList();
        }
        return new Map(children.Select(c => new KeyValuePair<string, object?>(c.Key, FromConfiguration(c))).ToList());
    }

    // PyYAML (YAML 1.1) resolution of plain scalars.
    private static object? ResolveScalar(Scalar s)
    {
        var v = s.Value ?? "";
        if (s.Style != ScalarStyle.Plain || (!s.Tag.IsEmpty && s.Tag.Value == "tag:yaml.org,2002:str"))
        {
            return v;
        }
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v is "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON") return true;
        if (v is "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF") return false;
        if (IntPattern().IsMatch(v) && long.TryParse(v.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        if (FloatPattern().IsMatch(v) && double.TryParse(v.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        return v;
    }

    [GeneratedRegex(@"^[-+]?(0|[1-9][0-9_]*)\z")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?\z")]
    private static partial Regex FloatPattern();

    internal static string Describe(object? value) => value switch
    {
        null => "null",
        string => "a string",
        bool => "a boolean",
        long or double => "a number",
        Map => "a mapping",
        List<object?> => "a list",
        _ => value.GetType().Name,
    };

    internal static bool? OptionalBool(object? value, string path) => value switch
    {
        null => null,
        bool b => b,
        _ => throw new ConfigSchemaException($"{path}: Input should be a valid boolean"),
    };

    internal static string? OptionalString(object? value, string path) => value switch
    {
        null => null,
        string s => s,
        _ => throw new ConfigSchemaException($"{path}: Input should be a valid string"),
    };

    private static string RequiredString(Map map, string key, string path)
    {
        var found = map.Entries.Where(e => e.Key == key).Select(e => (KeyValuePair<string, object?>?)e).LastOrDefault();
        if (found is null || found.Value.Value is null) throw new ConfigSchemaException($"{path}.{key}: Field required");
        return found.Value.Value as string ?? throw new ConfigSchemaException($"{path}.{key}: Input should be a valid string");
    }

    private static object? Get(Map map, string key) => map.Entries.LastOrDefault(e => e.Key == key).Value;

    /// <summary>A list of topic definitions: <c>{topic, description?, sub_topics?: [name | {name, description?, update_description?, validate_value?}]}</c>.</summary>
    internal static List<ProfileTopic>? Topics(object? value, string path)
    {
        if (value is null) return null;
        if (value is not List<object?> list) throw new ConfigSchemaException($"{path}: Input should be a valid list");
        var result = new List<ProfileTopic>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            var p = $"{path}.{i}";
            if (list[i] is not Map topic) throw new ConfigSchemaException($"{p}: Input should be a valid dictionary");
            foreach (var (key, _) in topic.Entries)
            {
                if (key is not ("topic" or "description" or "sub_topics"))
                {
                    throw new ConfigSchemaException($"{p}: unexpected key '{key}' (allowed: topic, description, sub_topics)");
                }
            }
            var name = RequiredString(topic, "topic", p);
            var description = OptionalString(Get(topic, "description"), p + ".description");
            var subs = new List<ProfileSubTopic>();
            switch (Get(topic, "sub_topics"))
            {
                case null:
                    break;
                case List<object?> subList:
                    for (var j = 0; j < subList.Count; j++)
                    {
                        subs.Add(SubTopic(subList[j], $"{p}.sub_topics.{j}"));
                    }
                    break;
                default:
                    throw new ConfigSchemaException($"{p}.sub_topics: Input should be a valid list");
            }
            result.Add(new ProfileTopic(ProfileNames.Unify(name), description, subs));
        }
        return result;
    }

    private static ProfileSubTopic SubTopic(object? value, string path)
    {
        switch (value)
        {
            case string s:
                return new ProfileSubTopic(ProfileNames.Unify(s));
            case Map m:
                var name = RequiredString(m, "name", path);
                return new ProfileSubTopic(
                    ProfileNames.Unify(name),
                    OptionalString(Get(m, "description"), path + ".description"),
                    OptionalString(Get(m, "update_description"), path + ".update_description"),
                    OptionalBool(Get(m, "validate_value"), path + ".validate_value"));
            default:
                throw new ConfigSchemaException($"{path}: Input should be a valid string or dictionary");
        }
    }

    /// <summary>A list of tags: plain names or <c>{name, description?}</c>.</summary>
    internal static List<EventTag>? EventTags(object? value, string path)
    {
        if (value is null) return null;
        if (value is not List<object?> list) throw new ConfigSchemaException($"{path}: Input should be a valid list");
        var result = new List<EventTag>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            var p = $"{path}.{i}";
            result.Add(list[i] switch
            {
                string s => new EventTag(ProfileNames.Unify(s), ""),
                Map m => new EventTag(ProfileNames.Unify(RequiredString(m, "name", p)), OptionalString(Get(m, "description"), p + ".description") ?? ""),
                _ => throw new ConfigSchemaException($"{p}: Input should be a valid string or dictionary"),
            });
        }
        return result;
    }
}
