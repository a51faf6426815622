using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Api;
using Memobase.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Memobase.Server.Tests.Edge;

/// <summary>
/// Every operation of <c>openapi.yaml</c> against a real server process, with generated hostile variants of its path
/// and query parameters, body and headers. Every answer must be the envelope or the 422 shape, never errno 500 and
/// never internals; afterwards the same process still answers and a canary user's data is unchanged.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "hostile-root-token";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private string _db = "";
    private ServerProcess _server = null!;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("hostile");
        _server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
            ["ACCESS_TOKEN"] = Token,
            ["MEMOBASE_LLM_BASE_URL"] = "http://127.0.0.1:9/v1",
            ["MEMOBASE_LLM_MAX_RETRIES"] = "0",
            ["MEMOBASE_WAIT_PROCESS_TIMEOUT_SECONDS"] = "5",
            ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "false",
            ["Serilog__MinimumLevel"] = "Error",
        });
        await _server.WaitHealthyAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(_db);
    }

    private static readonly string[] Internals =
        ["Exception", "System.", "Microsoft.", "Npgsql", "   at ", "LineNumber", "BytePosition", "Path: $", "SELECT ", "INSERT ", "UPDATE ", "postgres", ".cs:line", "/src/"];

    private readonly List<string> _examples = [];

    private sealed record Request(string Label, HttpMethod Method, string Url, HttpContent? Content, Action<HttpRequestHeaders>? Headers = null);

    [Fact]
    public async Task Every_operation_survives_generated_hostile_variants()
    {
        var root = _server.Client(Token);
        var canary = await root.CreateUserAsync(new { name = "canary", tags = new[] { "a", "b" } });
        await root.PostJson($"/api/v1/blobs/insert/{canary}", """{"blob_type":"doc","blob_data":{"content":"canary document ✓ 😀"}}""").Ok();
        await root.PostJson($"/api/v1/users/profile/{canary}", """{"content":"likes tennis","attributes":{"topic":"interest","sub_topic":"sport"}}""").Ok();
        var before = await SnapshotAsync(root, canary);

        var victim = await root.CreateUserAsync();
        await root.PostJson("/admin/v1/projects", new { project_id = "hostile-proj" }).Ok();

        var requests = Generate(victim).ToList();
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        var watch = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(requests.Select(async r =>
        {
            await gate.WaitAsync();
            try
            {
                var problem = await SendAndCheckAsync(r, statuses);
                if (problem is not null) lock (failures) failures.Add($"{r.Label}: {problem}");
            }
            finally
            {
                gate.Release();
            }
        }));
        watch.Stop();
        output.WriteLine($"{requests.Count} hostile requests over {requests.Select(r => r.Label.Split(' ')[0] + r.Label.Split(' ')[1]).Distinct().Count()} operations in {watch.Elapsed.TotalSeconds:0.0} s; " +
                         $"statuses: {string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"))}");

        foreach (var example in _examples.Order(StringComparer.Ordinal)) output.WriteLine(example);
        // The issue bounds this test to a minute; it takes 10–20 s on a loaded 2-core machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the hostile requests took {watch.Elapsed.TotalSeconds:0} s, over the 60 s bound");
        Assert.False(_server.HasExited, $"the server process exited:\n{_server.Output}");
        await _server.Client(Token).GetAsync("/api/v1/healthcheck").Ok();
        Assert.Equal(before, await SnapshotAsync(root, canary));
        Assert.True(failures.Count == 0, $"{failures.Count} of {requests.Count} responses broke an invariant:\n" + string.Join("\n", failures.Take(40)));
    }

    private static async Task<string> SnapshotAsync(HttpClient client, Guid user)
    {
        var parts = new List<string>();
        foreach (var url in new[] { $"/api/v1/users/{user}", $"/api/v1/users/profile/{user}", $"/api/v1/users/blobs/{user}/doc" })
        {
            parts.Add((await client.GetAsync(url).Ok())?.ToJsonString() ?? "null");
        }
        return string.Join("\n", parts);
    }

    private async Task<string?> SendAndCheckAsync(Request r, Dictionary<int, int> statuses)
    {
        using var message = new HttpRequestMessage(r.Method, new Uri(_server.BaseUrl + r.Url)) { Content = r.Content };
        message.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
        r.Headers?.Invoke(message.Headers);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message);
        }
        catch (Exception ex)
        {
            return $"no response ({ex.GetType().Name}: {ex.Message})";
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            lock (statuses) statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var text = await response.Content.ReadAsStringAsync();
            lock (statuses) { if (status is not (200 or 422) && _examples.Count(e => e.StartsWith($"{status} ", StringComparison.Ordinal)) < 3) _examples.Add($"{status} {r.Label}"); }
            // Operations whose documented answers are not the envelope: the probes ({status, checks}; ready is 503
            // when not ready) and upstream's status check (HTTP 500 with {detail} naming the failed check).
            var path = r.Url.Split('?')[0];
            if (path.StartsWith("/health/", StringComparison.Ordinal) && status is 200 or 503 && text.Contains("\"status\"", StringComparison.Ordinal)) return null;
            if (path == "/api/v1/admin/status_check" && status == 500 && text.StartsWith("{\"detail\":", StringComparison.Ordinal)
                && !Internals.Any(w => text.Contains(w, StringComparison.Ordinal))) return null;
            // Kestrel refuses a NUL in the path itself, before the application, with a bare HTTP 400.
            if (status == 400 && text.Length == 0 && r.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal)) return null;
            if (status is not (200 or 401 or 403 or 404 or 405 or 413 or 414 or 415 or 422 or 429 or 431))
            {
                return $"HTTP {status}: {Cut(text)}";
            }
            foreach (var word in Internals)
            {
                if (text.Contains(word, StringComparison.Ordinal)) return $"HTTP {status} leaks '{word}': {Cut(text)}";
            }
            JsonNode? body;
            try { body = JsonNode.Parse(text); }
            catch (JsonException) { return $"HTTP {status} body is not JSON: {Cut(text)}"; }
            if (body is not JsonObject obj) return $"HTTP {status} body is not an object: {Cut(text)}";
            if (status == 422)
            {
                if (obj["detail"] is not JsonArray { Count: > 0 } detail || detail.Any(d => d?["loc"] is null || d["msg"] is null || d["type"] is null))
                {
                    return $"422 without the detail shape: {Cut(text)}";
                }
                return null;
            }
            if (!obj.ContainsKey("data") || !obj.ContainsKey("errno") || !obj.ContainsKey("errmsg")) return $"HTTP {status} without the envelope: {Cut(text)}";
            var errno = obj["errno"]!.GetValue<int>();
            if (errno == 500) return $"errno 500: {Cut(text)}";
            if (status != 200 && errno != status) return $"HTTP {status} with errno {errno}";
            return null;
        }
    }

    private static string Cut(string text) => text.Length > 300 ? text[..300] + "…" : text;

    // ------------------------------------------------------------------ generation from openapi.yaml

    private static readonly string[] HostilePathValues =
    [
        "not-a-uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "00000000-0000-0000-0000-000000000000", "%00", "%0A",
        "x%0A", "%ED%A0%80", "%FF%FE", "..%2F..%2Fetc", new string('a', 300), "-1", "99999999999999999999999", "%20",
    ];

    private static readonly string[] HostileQueryValues =
    [
        "abc", "-1", "0", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e309", "NaN", "Infinity", "1.5",
        "%00", "a%00b", "%ED%A0%80", "%FF", "%5B%22%5Cud800%22%5D", "%5B%7B%22role%22%3A%22user%22%2C%22content%22%3A%22%5Cu0000%22%7D%5D",
        "", new string('x', 4000), "true", "maybe", "%7B%7D", "%5B1%2C2%5D",
    ];

    private static readonly string[] HostileJsonValues =
    [
        "123", "-1", "1e400", "99999999999999999999999999", "\"x\"", "\"\"", "[]", "{}", "null", "true",
        "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"" + new string('y', 100_000) + "\"",
        "[" + string.Join(",", Enumerable.Repeat("1", 20_000)) + "]",
        string.Concat(Enumerable.Repeat("[", 100)) + string.Concat(Enumerable.Repeat("]", 100)),
        "{\"k\":\"\\u0000\"}", "{\"\\u0000\":1}", "[\"\\ud800\"]",
        // Valid JSON numbers beyond PostgreSQL's numeric range (jsonb refuses them with SQLSTATE 22003).
        "1e200000", "{\"k\":-1e-200000}",
    ];

    private static IEnumerable<Request> Generate(Guid victim)
    {
        var doc = LoadOpenApi();
        var schemas = doc["components"]?["schemas"] as JsonObject;
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (method is "parameters" or "summary" or "description") continue;
                var verb = new HttpMethod(method.ToUpperInvariant());
                var parameters = (operation!["parameters"] as JsonArray ?? [])
                    .Select(p => p!["$ref"] is { } r ? doc["components"]!["parameters"]![r.GetValue<string>().Split('/')[^1]]! : p!).ToList();
                var pathParams = parameters.Where(p => p["in"]!.GetValue<string>() == "path").Select(p => p["name"]!.GetValue<string>()).ToList();
                var queryParams = parameters.Where(p => p["in"]!.GetValue<string>() == "query").Select(p => p["name"]!.GetValue<string>()).ToList();
                var valid = pathParams.ToDictionary(n => n, n => ValidPathValue(n, victim));
                string Url(Dictionary<string, string> values) => pathParams.Aggregate(path, (u, n) => u.Replace("{" + n + "}", values[n], StringComparison.Ordinal));
                var baseUrl = Url(valid);
                var label = $"{verb} {path}";
                var hasBody = operation["requestBody"] is not null;
                HttpContent? ValidBody() => hasBody ? Json("{}") : null;

                foreach (var name in pathParams)
                {
                    foreach (var value in HostilePathValues)
                    {
                        yield return new Request($"{label} path {name}={Short(value)}", verb, Url(new Dictionary<string, string>(valid) { [name] = value }), ValidBody());
                    }
                }
                foreach (var name in queryParams)
                {
                    foreach (var value in HostileQueryValues)
                    {
                        yield return new Request($"{label} query {name}={Short(value)}", verb, $"{baseUrl}?{name}={value}", ValidBody());
                    }
                    yield return new Request($"{label} query {name} twice", verb, $"{baseUrl}?{name}=1&{name}=2", ValidBody());
                }

                yield return new Request($"{label} no token", verb, baseUrl, ValidBody(), h => h.Remove("Authorization"));
                yield return new Request($"{label} lower-case scheme", verb, baseUrl, ValidBody(), h => { h.Remove("Authorization"); h.TryAddWithoutValidation("Authorization", "bearer " + Token); });
                yield return new Request($"{label} huge header", verb, baseUrl, ValidBody(), h => h.TryAddWithoutValidation("X-Filler", new string('h', 40_000)));
                yield return new Request($"{label} long url", verb, $"{baseUrl}?pad={new string('u', 10_000)}", ValidBody());
                yield return new Request($"{label} wrong method", new HttpMethod("PROPFIND"), baseUrl, null);

                if (!hasBody) continue;
                yield return new Request($"{label} body without content type", verb, baseUrl, Raw("{}"u8.ToArray(), null));
                yield return new Request($"{label} body text/plain", verb, baseUrl, Raw("{}"u8.ToArray(), "text/plain"));
                yield return new Request($"{label} body form", verb, baseUrl, Raw("a=1"u8.ToArray(), "application/x-www-form-urlencoded"));
                yield return new Request($"{label} empty body", verb, baseUrl, Raw([], "application/json"));
                yield return new Request($"{label} invalid json", verb, baseUrl, Json("{\"a\": "));
                yield return new Request($"{label} invalid utf-8", verb, baseUrl, Raw([(byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xFF, 0xC0, (byte)'"', (byte)'}'], "application/json"));
                yield return new Request($"{label} raw surrogate bytes", verb, baseUrl, Raw([(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'], "application/json"));
                yield return new Request($"{label} duplicate fields", verb, baseUrl, Json("{\"a\":1,\"a\":2}"));
                yield return new Request($"{label} deep nesting", verb, baseUrl, Json(string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000)));
                yield return new Request($"{label} 5 MB body", verb, baseUrl, Json("{\"a\":\"" + new string('z', 5 * 1024 * 1024) + "\"}"));
                foreach (var value in HostileJsonValues) yield return new Request($"{label} body={Short(value)}", verb, baseUrl, Json(value));

                foreach (var field in BodyFields(operation["requestBody"]!, schemas))
                {
                    foreach (var value in HostileJsonValues)
                    {
                        yield return new Request($"{label} body.{field}={Short(value)}", verb, baseUrl, Json($"{{\"{field}\":{value}}}"));
                    }
                }
            }
        }
    }

    private static string ValidPathValue(string name, Guid victim) => name switch
    {
        "user_id" => victim.ToString(),
        "blob_type" or "buffer_type" => "chat",
        "project_id" => "hostile-proj",
        "id" => "1",
        _ => Guid.NewGuid().ToString(),
    };

    private static List<string> BodyFields(JsonNode requestBody, JsonObject? schemas)
    {
        var schema = requestBody["content"]?["application/json"]?["schema"];
        for (var i = 0; i < 5 && schema?["$ref"] is { } reference; i++)
        {
            schema = schemas?[reference.GetValue<string>().Split('/')[^1]];
        }
        return (schema?["properties"] as JsonObject)?.Select(kv => kv.Key).ToList() ?? [];
    }

    private static string Short(string value) => value.Length > 24 ? value[..24] + $"…({value.Length})" : value;

    private static ByteArrayContent Json(string json) => Raw(Encoding.UTF8.GetBytes(json), "application/json");

    private static ByteArrayContent Raw(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null) content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    private static JsonNode LoadOpenApi()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(DocumentationTests.RepoFile("openapi.yaml")));
        return ToJson(yaml.Documents[0].RootNode)!;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => null,
    };
}
