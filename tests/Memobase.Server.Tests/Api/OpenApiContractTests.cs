using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using YamlDotNet.RepresentationModel;

namespace Memobase.Server.Tests.Api;

/// <summary>
/// The served OpenAPI document (<c>/openapi.json</c>, generated from the endpoints) and the curated <c>openapi.yaml</c>
/// at the repository root describe the same operations, and <c>openapi.yaml</c>'s buffer operations keep the seed
/// (upstream Memobase 0.0.40) definitions. Every failure lists the exact differences.
/// </summary>
public sealed partial class OpenApiContractTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    private const string CapacityPath = "/api/v1/users/buffer/capacity/{user_id}/{buffer_type}";
    private const string FlushPath = "/api/v1/users/buffer/{user_id}/{buffer_type}";
    private const string ConversationPath = "/admin/v1/buffers/conversations/{id}";

    /// <summary>Routes that are documentation, not API: never in either document.</summary>
    private static readonly string[] NonApiRoutes = ["/openapi.json", "/docs", "/metrics", "/mcp"];

    private static readonly string[] Methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private readonly HttpClient _anonymous = app.Client(token: null);

    [Fact]
    public async Task Served_document_and_openapi_yaml_have_the_same_paths_operations_and_parameters()
    {
        var served = Operations(await ServedAsync());
        var curated = Operations(Curated());
        var differences = new List<string>();

        foreach (var path in served.Keys.Select(k => k.Path).Union(curated.Keys.Select(k => k.Path)).Distinct().Order(StringComparer.Ordinal))
        {
            var servedMethods = served.Keys.Where(k => k.Path == path).Select(k => k.Method).ToHashSet();
            var curatedMethods = curated.Keys.Where(k => k.Path == path).Select(k => k.Method).ToHashSet();
            if (servedMethods.Count == 0) { differences.Add($"{path}: in openapi.yaml only (not served)"); continue; }
            if (curatedMethods.Count == 0) { differences.Add($"{path}: served only (missing from openapi.yaml)"); continue; }
            foreach (var m in servedMethods.Except(curatedMethods)) differences.Add($"{m.ToUpperInvariant()} {path}: served only (missing from openapi.yaml)");
            foreach (var m in curatedMethods.Except(servedMethods)) differences.Add($"{m.ToUpperInvariant()} {path}: in openapi.yaml only (not served)");

            foreach (var method in servedMethods.Intersect(curatedMethods).Order(StringComparer.Ordinal))
            {
                var s = served[(path, method)];
                var c = curated[(path, method)];
                var op = $"{method.ToUpperInvariant()} {path}";
                if (s.OperationId != c.OperationId) differences.Add($"{op}: operationId served '{s.OperationId}' vs openapi.yaml '{c.OperationId}'");
                foreach (var p in s.Parameters.Except(c.Parameters).Order()) differences.Add($"{op}: parameter {p} served only");
                foreach (var p in c.Parameters.Except(s.Parameters).Order()) differences.Add($"{op}: parameter {p} in openapi.yaml only");
            }
        }
        Assert.True(differences.Count == 0,
            $"openapi.yaml and /openapi.json differ ({differences.Count}):\n  " + string.Join("\n  ", differences));
    }

    [Fact]
    public async Task Every_routed_endpoint_is_in_the_served_document()
    {
        var documented = Operations(await ServedAsync()).Keys.Select(k => $"{k.Method.ToUpperInvariant()} {k.Path}").ToHashSet();
        var routed = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && !NonApiRoutes.Any(r => raw.TrimStart('/').StartsWith(r.TrimStart('/'), StringComparison.OrdinalIgnoreCase)))
            // UI pages and their assets are not API: they carry ExcludeFromDescription and stay out of both documents
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {RouteConstraint().Replace("/" + e.RoutePattern.RawText!.Trim('/'), "{$1}")}"))
            .ToHashSet();

        var undocumented = routed.Except(documented).Order(StringComparer.Ordinal).ToList();
        Assert.True(undocumented.Count == 0, "Endpoints missing from /openapi.json:\n  " + string.Join("\n  ", undocumented));
        Assert.True(routed.Count >= 30, $"expected the server's endpoints, found {routed.Count}");
    }

    [Fact]
    public async Task Every_operation_has_a_summary_and_a_200_response_in_both_documents()
    {
        var problems = new List<string>();
        foreach (var (name, doc) in new[] { ("/openapi.json", await ServedAsync()), ("openapi.yaml", Curated()) })
        {
            foreach (var ((path, method), _) in Operations(doc))
            {
                var operation = doc["paths"]![path]![method]!;
                var op = $"{name}: {method.ToUpperInvariant()} {path}";
                if (string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>())) problems.Add($"{op} has no summary");
                var ok = operation["responses"]?["200"];
                if (ok is null) problems.Add($"{op} has no 200 response");
                else if (Resolve(doc, ok)["content"]?["application/json"]?["schema"] is null) problems.Add($"{op}: 200 response has no JSON schema");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Docs_serve_swagger_ui_and_openapi_json_is_an_openapi_3_document()
    {
        using var docs = await _anonymous.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType?.MediaType);
        var html = await docs.Content.ReadAsStringAsync();
        Assert.Contains("swagger-ui", html, StringComparison.OrdinalIgnoreCase);

        using var json = await _anonymous.GetAsync("/openapi.json");
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var doc = JsonNode.Parse(await json.Content.ReadAsStringAsync())!;
        Assert.Matches(@"^3\.\d+\.\d+$", doc["openapi"]!.GetValue<string>());
        Assert.Equal("Memobase API", doc["info"]!["title"]!.GetValue<string>());
        Assert.NotNull(doc["components"]!["securitySchemes"]!["BearerAuth"]);

        Assert.StartsWith("3.1", Curated()["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Served_document_uses_upstream_names_for_the_buffer_schemas()
    {
        var doc = await ServedAsync();
        var problems = new List<string>();
        Expect(problems, "served capacity 200", RefOf(doc["paths"]![CapacityPath]!["get"]!["responses"]!["200"]!), "IdsResponse");
        Expect(problems, "served flush 200", RefOf(doc["paths"]![FlushPath]!["post"]!["responses"]!["200"]!), "ChatModalAPIResponse");
        Expect(problems, "served flush 422", RefOf(doc["paths"]![FlushPath]!["post"]!["responses"]!["422"]!), "HTTPValidationError");
        Expect(problems, "served getConversationBuffer 200", RefOf(doc["paths"]![ConversationPath]!["get"]!["responses"]!["200"]!),
            "SuccessResultConversationBufferView");
        var schemas = doc["components"]!["schemas"]!;
        Expect(problems, "served ChatModalAPIResponse data items", schemas["ChatModalAPIResponse"]?["properties"]?["data"]?["items"]?["$ref"]?.GetValue<string>(),
            "#/components/schemas/ChatModalResponse");
        Expect(problems, "served IdsResponse errno", schemas["IdsResponse"]?["properties"]?["errno"]?["$ref"]?.GetValue<string>(), "#/components/schemas/CODE");
        CompareSchemaKeys(problems, "served BlobType", schemas["BlobType"], SeedSchemas["BlobType"]!, "type", "enum");
        CompareSchemaKeys(problems, "served CODE", schemas["CODE"], SeedSchemas["CODE"]!, "type", "enum");
        foreach (var p in doc["paths"]![CapacityPath]!["get"]!["parameters"]!.AsArray())
        {
            if (p!["name"]!.GetValue<string>() == "buffer_type") Expect(problems, "served buffer_type schema", p["schema"]?["$ref"]?.GetValue<string>(), "#/components/schemas/BlobType");
            if (p["name"]!.GetValue<string>() == "user_id") Expect(problems, "served user_id format", p["schema"]?["format"]?.GetValue<string>(), "uuid");
        }
        foreach (var p in doc["paths"]![FlushPath]!["post"]!["parameters"]!.AsArray())
        {
            if (p!["name"]!.GetValue<string>() == "wait_process") Expect(problems, "served wait_process type", p["schema"]?["type"]?.GetValue<string>(), "boolean");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Buffer_operations_in_openapi_yaml_match_the_seed_documents()
    {
        var doc = Curated();
        var problems = new List<string>();

        var capacity = doc["paths"]?[CapacityPath]?["get"];
        var flush = doc["paths"]?[FlushPath]?["post"];
        Assert.True(capacity is not null && flush is not null, "openapi.yaml lacks the buffer operations");
        Expect(problems, "capacity operationId", capacity["operationId"]?.GetValue<string>(),
            "get_processing_buffer_ids_api_v1_users_buffer_capacity__user_id___buffer_type__get");
        Expect(problems, "flush operationId", flush["operationId"]?.GetValue<string>(), "flush_buffer_api_v1_users_buffer__user_id___buffer_type__post");

        // Parameters: every seed key of every parameter, exactly.
        CompareParameters(problems, "capacity", doc, capacity, SeedCapacityParameters);
        CompareParameters(problems, "flush", doc, flush, SeedFlushParameters);

        Expect(problems, "capacity 200", RefOf(capacity["responses"]!["200"]!), "IdsResponse");
        Expect(problems, "capacity 422", RefOf(capacity["responses"]!["422"]!), "HTTPValidationError");
        Expect(problems, "flush 200", RefOf(flush["responses"]!["200"]!), "ChatModalAPIResponse");
        Expect(problems, "flush 422", RefOf(flush["responses"]!["422"]!), "HTTPValidationError");

        // Schemas: type, enum, required and every property exactly as in the seed (descriptions of the schema itself may differ).
        var schemas = doc["components"]!["schemas"]!;
        foreach (var (name, seed) in SeedSchemas)
        {
            CompareSchemaKeys(problems, name, schemas[name], seed!, "type", "enum", "required", "properties");
        }
        Assert.True(problems.Count == 0, "openapi.yaml differs from the seed:\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public void Admin_conversation_buffer_view_in_openapi_yaml_matches_the_memind_seed()
    {
        var doc = Curated();
        var problems = new List<string>();
        var get = doc["paths"]?[ConversationPath]?["get"];
        Assert.True(get is not null, $"openapi.yaml lacks GET {ConversationPath}");
        Expect(problems, "operationId", get["operationId"]?.GetValue<string>(), "getConversationBuffer");
        CompareParameters(problems, "getConversationBuffer", doc, get,
            JsonNode.Parse("""[{"name":"id","in":"path","required":true,"schema":{"type":"integer","format":"int64"}}]""")!.AsArray());
        Expect(problems, "200", RefOf(get["responses"]!["200"]!), "SuccessResultConversationBufferView");

        var schemas = doc["components"]!["schemas"]!;
        Expect(problems, "SuccessResultConversationBufferView.data",
            schemas["SuccessResultConversationBufferView"]?["properties"]?["data"]?["$ref"]?.GetValue<string>(), "#/components/schemas/ConversationBufferView");

        // Same properties; each property's type includes the seed's (ours may add null) and its format is the seed's.
        var view = schemas["ConversationBufferView"]?["properties"]?.AsObject();
        var expected = ConversationBufferViewSeed.AsObject();
        if (view is null) { problems.Add("ConversationBufferView missing"); }
        else
        {
            var names = view.Select(p => p.Key).ToHashSet();
            foreach (var missing in expected.Select(p => p.Key).Except(names)) problems.Add($"ConversationBufferView.{missing} missing");
            foreach (var extra in names.Except(expected.Select(p => p.Key))) problems.Add($"ConversationBufferView.{extra} not in the seed");
            foreach (var (name, seed) in expected)
            {
                if (view[name] is not { } actual) continue;
                List<string?> types = actual["type"] is JsonArray a ? [.. a.Select(t => t?.GetValue<string>())] : [actual["type"]?.GetValue<string>()];
                if (!types.Contains(seed!["type"]!.GetValue<string>())) problems.Add($"ConversationBufferView.{name}: type {actual["type"]?.ToJsonString()}, seed {seed["type"]}");
                if (seed["format"]?.GetValue<string>() != actual["format"]?.GetValue<string>())
                {
                    problems.Add($"ConversationBufferView.{name}: format {actual["format"]}, seed {seed["format"]}");
                }
            }
        }
        Assert.True(problems.Count == 0, "openapi.yaml differs from the Memind seed:\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public async Task Only_the_healthcheck_and_the_probes_are_public_in_both_documents()
    {
        var problems = new List<string>();
        foreach (var (name, doc) in new[] { ("/openapi.json", await ServedAsync()), ("openapi.yaml", Curated()) })
        {
            if (doc["security"]?.ToJsonString() != """[{"BearerAuth":[]}]""") problems.Add($"{name}: global security is {doc["security"]?.ToJsonString()}");
            foreach (var ((path, method), _) in Operations(doc))
            {
                var security = doc["paths"]![path]![method]!["security"];
                var isPublic = security is JsonArray { Count: 0 };
                if (isPublic != (path is "/api/v1/healthcheck" or "/health/live" or "/health/ready")) problems.Add($"{name}: {method.ToUpperInvariant()} {path} security {security?.ToJsonString() ?? "(global)"}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    // ---------------------------------------------------------------------------------------------------------------

    private sealed record Operation(string? OperationId, HashSet<string> Parameters);

    private async Task<JsonNode> ServedAsync()
    {
        using var response = await _anonymous.GetAsync("/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static JsonNode Curated()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(DocumentationTests.RepoFile("openapi.yaml")));
        return ToJson(yaml.Documents[0].RootNode) ?? throw new InvalidOperationException("openapi.yaml is empty");
    }

    /// <summary>Operations by (path, method) with operationId and "name in=… required=…" parameter keys ($refs resolved).</summary>
    private static Dictionary<(string Path, string Method), Operation> Operations(JsonNode doc)
    {
        var result = new Dictionary<(string, string), Operation>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            if (NonApiRoutes.Any(r => path.StartsWith(r, StringComparison.OrdinalIgnoreCase))) continue;
            foreach (var (method, operation) in item!.AsObject())
            {
                if (!Methods.Contains(method)) continue;
                var parameters = (operation!["parameters"]?.AsArray() ?? []).Select(p => Resolve(doc, p!))
                    .Select(p => $"{p["name"]?.GetValue<string>()} in={p["in"]?.GetValue<string>()} required={(p["required"]?.GetValue<bool>() ?? false) switch { true => "true", false => "false" }}")
                    .ToHashSet();
                result[(path, method)] = new Operation(operation["operationId"]?.GetValue<string>(), parameters);
            }
        }
        return result;
    }

    /// <summary>Follows a local <c>$ref</c> (parameters, responses) to its target.</summary>
    private static JsonNode Resolve(JsonNode doc, JsonNode node)
    {
        var seen = 0;
        while (node["$ref"]?.GetValue<string>() is { } reference && reference.StartsWith("#/", StringComparison.Ordinal) && seen++ < 10)
        {
            JsonNode? target = doc;
            foreach (var segment in reference[2..].Split('/')) target = target?[segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)];
            if (target is null) return node;
            node = target;
        }
        return node;
    }

    /// <summary>The schema name a response's JSON content references.</summary>
    private static string? RefOf(JsonNode response)
        => response["content"]?["application/json"]?["schema"]?["$ref"]?.GetValue<string>()?.Replace("#/components/schemas/", "", StringComparison.Ordinal);

    private static void Expect(List<string> problems, string what, string? actual, string expected)
    {
        if (actual != expected) problems.Add($"{what}: expected '{expected}', found '{actual ?? "(none)"}'");
    }

    /// <summary>Compares the given keys of a schema with the seed's; properties are compared one by one.</summary>
    private static void CompareSchemaKeys(List<string> problems, string name, JsonNode? actual, JsonNode seed, params string[] keys)
    {
        if (actual is null) { problems.Add($"schema {name} is missing"); return; }
        foreach (var key in keys)
        {
            if (key == "properties" && seed["properties"] is JsonObject seedProperties)
            {
                var props = actual["properties"] as JsonObject ?? [];
                foreach (var (p, s) in seedProperties)
                {
                    if (props[p] is not { } a) problems.Add($"{name}.properties.{p} is missing");
                    else if (!JsonNode.DeepEquals(Normalize(a), Normalize(s))) problems.Add($"{name}.properties.{p}: expected {s!.ToJsonString()}, found {a.ToJsonString()}");
                }
                foreach (var extra in props.Select(p => p.Key).Except(seedProperties.Select(p => p.Key))) problems.Add($"{name}.properties.{extra} is not in the seed");
            }
            else if (!JsonNode.DeepEquals(Normalize(actual[key]), Normalize(seed[key])))
            {
                problems.Add($"{name}.{key}: expected {seed[key]?.ToJsonString() ?? "(none)"}, found {actual[key]?.ToJsonString() ?? "(none)"}");
            }
        }
    }

    /// <summary>Compares each seed parameter (all its keys) with the operation's parameter of the same name.</summary>
    private static void CompareParameters(List<string> problems, string op, JsonNode doc, JsonNode operation, JsonArray seed)
    {
        var actual = (operation["parameters"]?.AsArray() ?? []).Select(p => Resolve(doc, p!)).ToList();
        foreach (var expected in seed)
        {
            var name = expected!["name"]!.GetValue<string>();
            var found = actual.FirstOrDefault(p => p["name"]?.GetValue<string>() == name);
            if (found is null) { problems.Add($"{op}: parameter {name} is missing"); continue; }
            foreach (var (key, value) in expected.AsObject())
            {
                if (!JsonNode.DeepEquals(Normalize(found[key]), Normalize(value)))
                {
                    problems.Add($"{op}: parameter {name}.{key}: expected {value?.ToJsonString()}, found {found[key]?.ToJsonString() ?? "(none)"}");
                }
            }
        }
        // Idempotency-Key (issue 12) is this server's addition: an optional header that changes nothing when absent.
        foreach (var extra in actual.Select(p => p["name"]?.GetValue<string>()).Except(seed.Select(s => s!["name"]!.GetValue<string>()))
                     .Where(name => name != "Idempotency-Key"))
        {
            problems.Add($"{op}: parameter {extra} is not in the seed");
        }
    }

    private static JsonNode? Normalize(JsonNode? node) => node is null ? null : JsonNode.Parse(node.ToJsonString());

    /// <summary>YAML → JSON: plain scalars become null/bool/number where they read as one, quoted scalars stay strings.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } s => s.Value switch
        {
            null or "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var v when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            var v => JsonValue.Create(v),
        },
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")]
    private static partial Regex RouteConstraint();

    // --- The seed documents (/work/shared/seeds 000 and 001: upstream Memobase 0.0.40; 002: Memind), hard-coded ---------

    private static readonly JsonArray SeedCapacityParameters = JsonNode.Parse("""
        [
          {"name":"user_id","in":"path","required":true,
           "schema":{"anyOf":[{"type":"string","format":"uuid4"},{"type":"string","format":"uuid5"}],"description":"The ID of the user","title":"User Id"},
           "description":"The ID of the user"},
          {"name":"buffer_type","in":"path","required":true,
           "schema":{"$ref":"#/components/schemas/BlobType","description":"The type of buffer to flush"},
           "description":"The type of buffer to flush"},
          {"name":"status","in":"query","required":false,
           "schema":{"enum":["idle","processing","failed","done"],"type":"string","description":"The status of the buffer to get","default":"processing","title":"Status"},
           "description":"The status of the buffer to get"}
        ]
        """)!.AsArray();

    private static readonly JsonArray SeedFlushParameters = JsonNode.Parse("""
        [
          {"name":"user_id","in":"path","required":true,
           "schema":{"anyOf":[{"type":"string","format":"uuid4"},{"type":"string","format":"uuid5"}],"description":"The ID of the user","title":"User Id"},
           "description":"The ID of the user"},
          {"name":"buffer_type","in":"path","required":true,
           "schema":{"$ref":"#/components/schemas/BlobType","description":"The type of buffer to flush"},
           "description":"The type of buffer to flush"},
          {"name":"wait_process","in":"query","required":false,
           "schema":{"type":"boolean","description":"Whether to wait for the buffer to be processed","default":false,"title":"Wait Process"},
           "description":"Whether to wait for the buffer to be processed"}
        ]
        """)!.AsArray();

    private static readonly JsonObject SeedSchemas = JsonNode.Parse("""
        {
          "BlobType": {"type":"string","enum":["chat","summary","doc","image","code","transcript"]},
          "CODE": {"type":"integer","enum":[0,400,401,403,404,405,409,422,500,501,502,503,504,520]},
          "IdsResponse": {"type":"object","properties":{
            "data":{"anyOf":[{"$ref":"#/components/schemas/IdsData"},{"type":"null"}],"description":"Response containing multiple IDs"},
            "errno":{"$ref":"#/components/schemas/CODE","description":"Error code, 0 means success","default":0},
            "errmsg":{"type":"string","title":"Errmsg","description":"Error message, empty when success","default":""}}},
          "IdsData": {"type":"object","required":["ids"],"properties":{
            "ids":{"items":@UUID45@,"type":"array","title":"Ids","description":"List of UUID identifiers"}}},
          "ChatModalAPIResponse": {"type":"object","properties":{
            "data":{"anyOf":[{"items":{"$ref":"#/components/schemas/ChatModalResponse"},"type":"array"},{"type":"null"}],"title":"Data","description":"Response containing chat modal data"},
            "errno":{"$ref":"#/components/schemas/CODE","description":"Error code, 0 means success","default":0},
            "errmsg":{"type":"string","title":"Errmsg","description":"Error message, empty when success","default":""}}},
          "ChatModalResponse": {"type":"object","required":["event_id","add_profiles","update_profiles","delete_profiles"],"properties":{
            "event_id":{"anyOf":[{"type":"string","format":"uuid4"},{"type":"string","format":"uuid5"},{"type":"null"}],"title":"Event Id","description":"The event's unique identifier"},
            "add_profiles":{"anyOf":[{"items":@UUID45@,"type":"array"},{"type":"null"}],"title":"Add Profiles","description":"List of added profiles' ids"},
            "update_profiles":{"anyOf":[{"items":@UUID45@,"type":"array"},{"type":"null"}],"title":"Update Profiles","description":"List of updated profiles' ids"},
            "delete_profiles":{"anyOf":[{"items":@UUID45@,"type":"array"},{"type":"null"}],"title":"Delete Profiles","description":"List of deleted profiles' ids"}}},
          "HTTPValidationError": {"type":"object","properties":{
            "detail":{"items":{"$ref":"#/components/schemas/ValidationError"},"type":"array","title":"Detail"}}},
          "ValidationError": {"type":"object","required":["loc","msg","type"],"properties":{
            "loc":{"items":{"anyOf":[{"type":"string"},{"type":"integer"}]},"type":"array","title":"Location"},
            "msg":{"type":"string","title":"Message"},
            "type":{"type":"string","title":"Error Type"}}}
        }
        """.Replace("@UUID45@", Uuid45, StringComparison.Ordinal))!.AsObject();

    /// <summary>Upstream's <c>UUID4 | UUID5</c>.</summary>
    private const string Uuid45 = """{"anyOf":[{"type":"string","format":"uuid4"},{"type":"string","format":"uuid5"}]}""";

    private static readonly JsonNode ConversationBufferViewSeed = JsonNode.Parse("""
        {
          "id":{"type":"integer","format":"int64"}, "sessionId":{"type":"string"}, "userId":{"type":"string"},
          "agentId":{"type":"string"}, "memoryId":{"type":"string"}, "role":{"type":"string"}, "content":{"type":"string"},
          "userName":{"type":"string"}, "sourceClient":{"type":"string"},
          "timestamp":{"type":"string","format":"date-time"}, "extracted":{"type":"boolean"},
          "createdAt":{"type":"string","format":"date-time"}, "updatedAt":{"type":"string","format":"date-time"}
        }
        """)!;
}
