using System.Reflection;
using System.Text.RegularExpressions;
using Memobase.Server.Data;
using Microsoft.AspNetCore.Routing;
using NetArchTest.Rules;

namespace Memobase.Server.Tests.Architecture;

/// <summary>
/// The feature folders are boundaries (README, "Project layout"): dependencies between features point one way, down the
/// layers below; no feature references another feature's endpoint class; each table is read and written by the code of
/// its owning feature only. Dependencies are read from the compiled assembly (NetArchTest, Mono.Cecil), SQL from the
/// source.
/// </summary>
public sealed partial class ArchitectureTests
{
    private const string Root = "Memobase.Server";

    /// <summary>The layers, lowest first: a feature may depend on the features of lower layers only.</summary>
    internal static readonly string[][] Layers =
    [
        ["Data", "Serialization", "Telemetry", "Tokenization"],
        ["Content"],
        ["Infrastructure"],
        ["Idempotency", "Llm", "Projects"],
        ["Buffers", "Events", "Webhooks"],
        ["Blobs", "Users"],
        ["Profiles"],
        ["Context", "Processing"],
        ["Admin", "AdminUi", "Mcp", "Observability"],
        ["Hosting"],
    ];

    private static readonly Assembly Server = typeof(MemobaseDb).Assembly;

    private static string FeatureOf(string? ns)
    {
        if (ns is null || !ns.StartsWith(Root + ".", StringComparison.Ordinal)) return "";
        var rest = ns[(Root.Length + 1)..];
        var dot = rest.IndexOf('.');
        return dot < 0 ? rest : rest[..dot];
    }

    private static readonly Lazy<Dictionary<string, Dictionary<string, string>>> Graph = new(DependencyGraph);

    /// <summary>Feature → the features its types reference, with one referencing type per edge for the message.</summary>
    private static Dictionary<string, Dictionary<string, string>> DependencyGraph()
    {
        var types = Types.InAssembly(Server);
        var byFeature = Server.GetTypes().Where(t => t.FullName is not null && FeatureOf(t.Namespace).Length > 0)
            .GroupBy(t => FeatureOf(t.Namespace)).ToDictionary(g => g.Key, g => g.Select(t => t.FullName!).ToArray());
        var graph = byFeature.Keys.ToDictionary(f => f, _ => new Dictionary<string, string>());
        foreach (var from in byFeature.Keys)
        {
            foreach (var to in byFeature.Keys.Where(f => f != from))
            {
                // Exact type names: a namespace prefix would let Admin match AdminUi.
                var offender = types.That().ResideInNamespaceMatching($@"^{Regex.Escape(Root)}\.{from}(\..*)?$")
                    .And().HaveDependencyOnAny(byFeature[to]).GetTypes().FirstOrDefault();
                if (offender is not null) graph[from][to] = offender.FullName ?? offender.Name;
            }
        }
        return graph;
    }

    [Fact]
    public void Every_feature_depends_only_on_features_of_lower_layers()
    {
        var layerOf = Layers.SelectMany((names, i) => names.Select(n => (n, i))).ToDictionary(x => x.n, x => x.i);
        var graph = Graph.Value;
        var unknown = graph.Keys.Where(f => !layerOf.ContainsKey(f)).ToList();
        Assert.True(unknown.Count == 0, $"Features missing from the layer table (README, \"Project layout\"): {string.Join(", ", unknown)}");
        var violations = graph.SelectMany(kv => kv.Value.Where(e => layerOf[e.Key] >= layerOf[kv.Key])
            .Select(e => $"{kv.Key} (layer {layerOf[kv.Key]}) -> {e.Key} (layer {layerOf[e.Key]}), e.g. {e.Value}")).ToList();
        Assert.True(violations.Count == 0, "Dependencies against the layering:\n" + string.Join("\n", violations) + "\nGraph:\n" + Describe(graph));
        // The check itself sees dependencies: Processing does use Buffers, Llm and Profiles.
        Assert.Contains("Buffers", graph["Processing"].Keys);
        Assert.Contains("Llm", graph["Processing"].Keys);
        Assert.Contains("Profiles", graph["Processing"].Keys);
    }

    private static string Describe(Dictionary<string, Dictionary<string, string>> graph)
        => string.Join("\n", graph.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} -> {string.Join(", ", kv.Value.Keys.Order())}"));

    [Fact]
    public void The_dependency_graph_has_no_cycles()
    {
        var graph = Graph.Value;
        var state = new Dictionary<string, int>(); // 1 visiting, 2 done
        var path = new Stack<string>();
        string? cycle = null;
        void Visit(string node)
        {
            if (cycle is not null) return;
            state[node] = 1;
            path.Push(node);
            foreach (var next in graph[node].Keys)
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    cycle = string.Join(" -> ", path.Reverse().SkipWhile(n => n != next).Append(next));
                    return;
                }
                if (state.GetValueOrDefault(next) == 0) Visit(next);
            }
            path.Pop();
            state[node] = 2;
        }
        foreach (var node in graph.Keys) if (state.GetValueOrDefault(node) == 0) Visit(node);
        Assert.True(cycle is null, $"Cycle: {cycle}\nGraph:\n{Describe(graph)}");
    }

    [Fact]
    public void No_feature_references_another_features_endpoint_class()
    {
        var endpointClasses = Server.GetTypes()
            .Where(t => t is { IsAbstract: true, IsSealed: true } && t.GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Any(m => m.Name.StartsWith("Map", StringComparison.Ordinal) && m.ReturnType == typeof(RouteGroupBuilder)))
            .ToList();
        Assert.Contains(endpointClasses, t => t.Name == "BlobsApi"); // the check finds the endpoint classes
        var violations = new List<string>();
        foreach (var endpoint in endpointClasses)
        {
            var owner = FeatureOf(endpoint.Namespace);
            var users = Types.InAssembly(Server).That().DoNotResideInNamespaceMatching($@"^{Regex.Escape(Root)}\.({owner}|Hosting)(\..*)?$")
                .And().HaveDependencyOn(endpoint.FullName!).GetTypes()
                .Where(t => t.FullName != "Program")
                .Select(t => t.FullName).ToList();
            violations.AddRange(users.Select(u => $"{u} references {endpoint.FullName}"));
        }
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    /// <summary>Table → the feature whose code alone reads and writes it.</summary>
    internal static readonly Dictionary<string, string> TableOwners = new()
    {
        ["projects"] = "Projects",
        ["usage_daily"] = "Projects",
        ["users"] = "Users",
        ["blobs"] = "Buffers",
        ["buffer_entries"] = "Buffers",
        ["flush_jobs"] = "Processing",
        ["flush_job_attempts"] = "Processing",
        ["user_profiles"] = "Profiles",
        ["user_events"] = "Events",
        ["user_event_gists"] = "Events",
        ["llm_budget_buckets"] = "Llm",
        ["idempotency_keys"] = "Idempotency",
        ["webhook_endpoints"] = "Webhooks",
        ["webhook_deliveries"] = "Webhooks",
        ["data_protection_keys"] = "Data",
    };

    /// <summary>
    /// Reads of another feature's table inside one statement of the owner's, each for a reason; never a write.
    /// (file, table): why.
    /// </summary>
    private static readonly Dictionary<(string File, string Table), string> AllowedReads = new()
    {
        [("Buffers/BufferSql.cs", "users")] = "the insert hot path writes a blob and its entry only if the user exists, in one round trip",
        [("Profiles/ProfileStore.cs", "users")] = "a profile is added only if its user exists, in the same statement",
        [("Users/UserDirectory.cs", "user_profiles")] = "the user list is ordered by profile and event counts in one query",
        [("Users/UserDirectory.cs", "user_events")] = "the user list is ordered by profile and event counts in one query",
    };

    /// <summary>EF access to a table through the context: <c>db.Blobs</c>, <c>Set&lt;Blob&gt;()</c>.</summary>
    private static readonly Dictionary<string, string[]> EfNames = new()
    {
        ["projects"] = ["Projects", "Project"], ["users"] = ["Users", "User"], ["blobs"] = ["Blobs", "Blob"],
        ["buffer_entries"] = ["BufferEntries", "BufferEntry"], ["flush_jobs"] = ["FlushJobs", "FlushJob"],
        ["flush_job_attempts"] = ["FlushJobAttempts", "FlushJobAttempt"], ["user_profiles"] = ["UserProfiles", "UserProfile"],
        ["user_events"] = ["UserEvents", "UserEvent"], ["user_event_gists"] = ["UserEventGists", "UserEventGist"],
        ["usage_daily"] = ["UsageDaily", "UsageDaily"], ["llm_budget_buckets"] = ["LlmBudgetBuckets", "LlmBudgetBucket"],
        ["idempotency_keys"] = ["IdempotencyKeys", "IdempotencyKey"], ["webhook_endpoints"] = ["WebhookEndpoints", "WebhookEndpoint"],
        ["webhook_deliveries"] = ["WebhookDeliveries", "WebhookDelivery"], ["data_protection_keys"] = ["DataProtectionKeys", "DataProtectionKey"],
    };

    [Fact]
    public void Each_table_is_read_and_written_only_by_its_owning_feature()
    {
        var source = Path.Combine(FindRepositoryRoot(), "src", "Memobase.Server");
        var files = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(source, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith("bin/", StringComparison.Ordinal) && !f.StartsWith("obj/", StringComparison.Ordinal)
                        // the EF model (entities and their configuration) and the generated migrations are the schema itself
                        && !f.StartsWith("Data/Migrations/", StringComparison.Ordinal) && f is not "Data/MemobaseDb.cs" and not "Data/WebhookModel.cs"
                        and not "Data/Entities.cs")
            .ToList();
        var tables = string.Join("|", TableOwners.Keys.OrderByDescending(t => t.Length));
        var sql = new Regex($@"\b(?<verb>INSERT\s+INTO|UPDATE|DELETE\s+FROM|FROM|JOIN|USING)\s+(?<table>{tables})\b", RegexOptions.IgnoreCase);
        var violations = new List<string>();
        var seen = new HashSet<string>();
        foreach (var file in files)
        {
            var feature = file.Contains('/') ? file[..file.IndexOf('/')] : "";
            var text = LineComment().Replace(File.ReadAllText(Path.Combine(source, file)), "");
            foreach (Match m in sql.Matches(text))
            {
                var table = m.Groups["table"].Value.ToLowerInvariant();
                var write = m.Groups["verb"].Value.ToUpperInvariant() is var v && (v.StartsWith("INSERT") || v == "UPDATE" || v.StartsWith("DELETE"));
                seen.Add(table);
                if (TableOwners[table] == feature) continue;
                if (!write && AllowedReads.ContainsKey((file, table))) continue;
                violations.Add($"{file} {(write ? "writes" : "reads")} {table} (owned by {TableOwners[table]})");
            }
            foreach (var (table, names) in EfNames)
            {
                if (TableOwners[table] == feature) continue;
                if (Regex.IsMatch(text, $@"\b(db|Db|context)\.{names[0]}\b|Set<{names[1]}>\(\)"))
                {
                    violations.Add($"{file} uses {table} through EF (owned by {TableOwners[table]})");
                }
            }
        }
        Assert.True(violations.Count == 0, string.Join("\n", violations.Distinct()));
        // The scan sees the SQL it is meant to police.
        Assert.Contains("flush_jobs", seen);
        Assert.Contains("buffer_entries", seen);
        Assert.Contains("user_profiles", seen);
    }

    [Fact]
    public void Raw_SQL_parameters_are_built_only_by_the_Sql_helper()
    {
        var source = Path.Combine(FindRepositoryRoot(), "src", "Memobase.Server");
        // a parameter object, a value added by name, a database type set by hand (also in a target-typed new())
        var handBuilt = new Regex(@"\bnew\s+NpgsqlParameter\b|\.AddWithValue\s*\(|\bNpgsqlDbType\s*=[^=>]");
        var violations = new List<string>();
        var helperSeen = false;
        foreach (var path in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories))
        {
            var file = Path.GetRelativePath(source, path).Replace('\\', '/');
            if (file.StartsWith("bin/", StringComparison.Ordinal) || file.StartsWith("obj/", StringComparison.Ordinal)) continue;
            var text = LineComment().Replace(File.ReadAllText(path), "");
            if (file == "Data/Sql.cs")
            {
                helperSeen = handBuilt.IsMatch(text); // the scan recognises the helper's own construction
                continue;
            }
            violations.AddRange(handBuilt.Matches(text).Select(m => $"{file}:{text[..m.Index].Count(c => c == '\n') + 1}: {m.Value.Trim()}"));
        }
        Assert.True(helperSeen, "the scan does not recognise how Data/Sql.cs builds a parameter");
        Assert.True(violations.Count == 0, "Parameters built by hand (use Data/Sql.cs: Sql.Command, Sql.Add, Sql.Jsonb, ...):\n"
            + string.Join("\n", violations));
    }

    [Fact]
    public void The_readme_lists_the_same_layers()
    {
        var readme = File.ReadAllText(Path.Combine(FindRepositoryRoot(), "README.md"));
        for (var i = 0; i < Layers.Length; i++)
        {
            var line = $"{i + 1}. {string.Join(", ", Layers[i].Select(f => f + "/"))}";
            Assert.Contains(line, readme);
        }
    }

    internal static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "src"))) return dir.FullName;
        }
        throw new InvalidOperationException("repository root not found");
    }

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();
}
