using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tests.Memory;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Memobase.Server.Tests.Mcp;

/// <summary>
/// The MCP endpoint driven by the C# SDK's own client over Streamable HTTP (the in-process test server): the tools,
/// their results checked against the REST API, tool errors carrying the REST messages, auth and project scoping.
/// </summary>
public sealed class McpServerTests(McpServerTests.App app) : IClassFixture<McpServerTests.App>
{
    public sealed class App : LlmApp
    {
        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            With("wait_process_timeout_seconds", "120"); // flush_buffer(wait) on a loaded machine
        }
    }

    private static readonly string[] ToolNames =
        ["add_profile", "delete_profile", "flush_buffer", "get_context", "get_events", "get_profile", "insert_chat", "search_events", "update_profile"];

    private async Task<McpClient> ConnectAsync(string? token = MemobaseApp.RootToken, Guid? defaultUser = null)
    {
        var headers = new Dictionary<string, string>();
        if (token is not null) headers["Authorization"] = $"Bearer {token}";
        if (defaultUser is { } user) headers["X-Memobase-User-Id"] = user.ToString();
        var http = app.CreateClient();
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers,
        }, http, ownsHttpClient: true);
        return await McpClient.CreateAsync(transport);
    }

    private static Dictionary<string, object?> Args(params (string Name, object? Value)[] args) => args.ToDictionary(a => a.Name, a => a.Value);

    private static JsonNode Structured(CallToolResult result)
    {
        Assert.True(result.IsError is not true, $"tool error: {Text(result)}");
        Assert.NotNull(result.StructuredContent);
        Assert.False(string.IsNullOrWhiteSpace(Text(result)));
        return JsonNode.Parse(result.StructuredContent.Value.GetRawText())!;
    }

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(t => t.Text));

    private static string ToolError(CallToolResult result)
    {
        Assert.True(result.IsError, $"expected a tool error, got: {Text(result)}");
        return Text(result);
    }

    [Fact]
    public async Task Lists_exactly_the_nine_tools_with_schemas_and_user_id_required_unless_a_default_user_is_pinned()
    {
        await using var client = await ConnectAsync();
        Assert.Equal("memobase", client.ServerInfo?.Name);
        var tools = await client.ListToolsAsync();
        Assert.Equal(ToolNames, tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tool in tools)
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description), tool.Name);
            var schema = JsonNode.Parse(tool.JsonSchema.GetRawText())!;
            Assert.Equal("object", schema["type"]!.GetValue<string>());
            foreach (var (name, property) in schema["properties"]!.AsObject())
            {
                Assert.False(string.IsNullOrWhiteSpace(property!["description"]?.GetValue<string>()), $"{tool.Name}.{name} has no description");
            }
            Assert.Contains("user_id", Required(tool));
            Assert.NotNull(tool.ProtocolTool.OutputSchema);
        }
        var byName = tools.ToDictionary(t => t.Name);
        Assert.Equal(["user_id", "messages"], Required(byName["insert_chat"]));
        Assert.Equal(["user_id", "topic", "sub_topic", "content"], Required(byName["add_profile"]));
        Assert.Equal(["user_id", "profile_id", "content"], Required(byName["update_profile"]));
        Assert.Equal(["user_id", "query"], Required(byName["search_events"]));
        Assert.Equal(["user_id"], Required(byName["get_context"]));
        Assert.Equal("array", Property(byName["insert_chat"], "messages")["type"]!.GetValue<string>());
        Assert.Equal(["user", "assistant"], Property(byName["insert_chat"], "messages")["items"]!["properties"]!["role"]!["enum"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("uuid", Property(byName["update_profile"], "profile_id")["format"]!.GetValue<string>());
        Assert.Equal("uuid", Property(byName["get_context"], "user_id")["format"]!.GetValue<string>());

        await using var pinned = await ConnectAsync(defaultUser: Guid.NewGuid());
        var pinnedTools = await pinned.ListToolsAsync();
        Assert.All(pinnedTools, t => Assert.DoesNotContain("user_id", Required(t)));
        Assert.Equal(["messages"], Required(pinnedTools.Single(t => t.Name == "insert_chat")));
    }

    private static List<string> Required(McpClientTool tool)
        => JsonNode.Parse(tool.JsonSchema.GetRawText())!["required"]?.AsArray().Select(r => r!.GetValue<string>()).ToList() ?? [];

    private static JsonNode Property(McpClientTool tool, string name) => JsonNode.Parse(tool.JsonSchema.GetRawText())!["properties"]![name]!;

    [Fact]
    public async Task Insert_flush_profile_context_and_delete_agree_with_the_REST_API()
    {
        var rest = app.Client();
        var user = Guid.NewGuid();
        await using var client = await ConnectAsync();

        // insert_chat creates the missing user and stores the blob the REST API then returns.
        var inserted = Structured(await client.CallToolAsync("insert_chat", Args(("user_id", user.ToString()), ("messages", new object[]
        {
            new { role = "user", content = "Hi, I am Gus and I love pizza", alias = "Gus" },
            new { role = "assistant", content = "Nice to meet you, Gus!" },
        }))));
        var blobId = inserted["blob_id"]!.GetValue<string>();
        Assert.Equal(user.ToString(), inserted["user_id"]!.GetValue<string>());
        await rest.GetAsync($"/api/v1/users/{user}").Ok();
        var blob = await rest.GetAsync($"/api/v1/blobs/{user}/{blobId}").Ok();
        Assert.Equal("chat", blob!["blob_type"]!.GetValue<string>());
        Assert.Equal("Hi, I am Gus and I love pizza", blob["blob_data"]!["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal("Gus", blob["blob_data"]!["messages"]![0]!["alias"]!.GetValue<string>());

        // flush_buffer through the fake LLM: the result names the profiles the REST API now lists.
        var flushed = Structured(await client.CallToolAsync("flush_buffer", Args(("user_id", user.ToString()), ("wait", true))));
        Assert.Equal("done", flushed["status"]!.GetValue<string>());
        var added = flushed["results"]![0]!["add_profiles"]!.AsArray().Select(x => x!.GetValue<string>()).Order().ToList();
        Assert.Equal(FakeOpenAiServer.DefaultFacts.Count, added.Count);
        var restProfiles = (await rest.GetAsync($"/api/v1/users/profile/{user}").Ok())!["profiles"]!.AsArray();
        Assert.Equal(added, restProfiles.Select(p => p!["id"]!.GetValue<string>()).Order().ToList());
        Assert.NotNull(flushed["results"]![0]!["event_id"]!.GetValue<string>());

        // get_profile = REST profiles; its text names each fact and id.
        var profileResult = await client.CallToolAsync("get_profile", Args(("user_id", user.ToString())));
        var profiles = Structured(profileResult)["profiles"]!.AsArray();
        Assert.Equal(restProfiles.ToJsonString(), profiles.ToJsonString());
        var name = profiles.Single(p => p!["attributes"]!["sub_topic"]!.GetValue<string>() == "name")!;
        Assert.Contains($"basic_info::name: Gus (profile_id {name["id"]})", Text(profileResult), StringComparison.Ordinal);
        var topicOnly = Structured(await client.CallToolAsync("get_profile", Args(("user_id", user.ToString()), ("topics", new[] { "interest" }))));
        Assert.Equal(["interest"], topicOnly["profiles"]!.AsArray().Select(p => p!["attributes"]!["topic"]!.GetValue<string>()));

        // get_context contains the facts, exactly as the REST context does.
        var context = await client.CallToolAsync("get_context", Args(("user_id", user.ToString())));
        var contextText = Structured(context)["context"]!.GetValue<string>();
        Assert.Contains("basic_info::name: Gus", contextText, StringComparison.Ordinal);
        Assert.Equal((await rest.GetAsync($"/api/v1/users/context/{user}").Ok())!["context"]!.GetValue<string>(), contextText);
        Assert.Equal(contextText, Text(context));

        // get_events: the event the flush wrote, as REST lists it.
        var events = Structured(await client.CallToolAsync("get_events", Args(("user_id", user.ToString()), ("topk", 5))))["events"]!.AsArray();
        Assert.Equal(flushed["results"]![0]!["event_id"]!.GetValue<string>(), Assert.Single(events)!["id"]!.GetValue<string>());

        // add, update, delete: REST sees each change.
        var addedId = Structured(await client.CallToolAsync("add_profile", Args(("user_id", user.ToString()), ("topic", "interest"),
            ("sub_topic", "sports"), ("content", "Plays tennis"))))["profile_id"]!.GetValue<string>();
        await client.CallToolAsync("update_profile", Args(("user_id", user.ToString()), ("profile_id", addedId), ("content", "Plays tennis on Sundays"),
            ("sub_topic", "weekend")));
        var updated = (await rest.GetAsync($"/api/v1/users/profile/{user}").Ok())!["profiles"]!.AsArray().Single(p => p!["id"]!.GetValue<string>() == addedId)!;
        Assert.Equal("Plays tennis on Sundays", updated["content"]!.GetValue<string>());
        Assert.Equal("interest", updated["attributes"]!["topic"]!.GetValue<string>());
        Assert.Equal("weekend", updated["attributes"]!["sub_topic"]!.GetValue<string>());

        Structured(await client.CallToolAsync("delete_profile", Args(("user_id", user.ToString()), ("profile_id", addedId))));
        var remaining = (await rest.GetAsync($"/api/v1/users/profile/{user}").Ok())!["profiles"]!.AsArray();
        Assert.DoesNotContain(remaining, p => p!["id"]!.GetValue<string>() == addedId);
        Assert.Equal(FakeOpenAiServer.DefaultFacts.Count, remaining.Count);
    }

    [Fact]
    public async Task Tool_errors_carry_the_REST_API_messages()
    {
        var rest = app.Client();
        var user = await rest.CreateUserAsync();
        var missing = Guid.NewGuid();
        await using var client = await ConnectAsync();

        var restDelete = await rest.DeleteAsync($"/api/v1/users/profile/{user}/{missing}").Fails(404);
        Assert.Equal(restDelete, ToolError(await client.CallToolAsync("delete_profile", Args(("user_id", user.ToString()), ("profile_id", missing.ToString())))));
        Assert.Equal(restDelete, ToolError(await client.CallToolAsync("update_profile", Args(("user_id", user.ToString()), ("profile_id", missing.ToString()), ("content", "x")))));

        var restBadRole = await rest.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"chat","blob_data":{"messages":[{"role":"robot","content":"beep"}]}}""").Fails(400);
        Assert.Equal(restBadRole, ToolError(await client.CallToolAsync("insert_chat", Args(("user_id", user.ToString()),
            ("messages", new object[] { new { role = "robot", content = "beep" } })))));

        var restNoUser = await rest.PostJson($"/api/v1/users/profile/{missing}", new { content = "x", attributes = new { topic = "a", sub_topic = "b" } }).Fails(404);
        Assert.Equal(restNoUser, ToolError(await client.CallToolAsync("add_profile", Args(("user_id", missing.ToString()), ("topic", "a"), ("sub_topic", "b"), ("content", "x")))));

        // Embeddings are off in this app: the REST errno 501 message.
        var restSearch = await rest.GetAsync($"/api/v1/users/event/search/{user}?query=tennis").Fails(501);
        Assert.Equal("Event embedding is not enabled", restSearch);
        Assert.Equal(restSearch, ToolError(await client.CallToolAsync("search_events", Args(("user_id", user.ToString()), ("query", "tennis")))));

        // Argument validation: the REST API's 422 messages, prefixed with the argument's name.
        var restBadId = await rest.GetAsync("/api/v1/users/profile/not-a-uuid").Invalid("path", "user_id");
        Assert.Equal($"user_id: {restBadId["msg"]}", ToolError(await client.CallToolAsync("get_profile", Args(("user_id", "not-a-uuid")))));
        Assert.Equal("topk: Input should be greater than or equal to 0", ToolError(await client.CallToolAsync("get_events", Args(("user_id", user.ToString()), ("topk", -1)))));
        Assert.StartsWith("user_id: Field required", ToolError(await client.CallToolAsync("get_profile", Args())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_user_header_pins_calls_without_user_id()
    {
        var rest = app.Client();
        var user = await rest.CreateUserAsync();
        await rest.PostJson($"/api/v1/users/profile/{user}", new { content = "Lives in Lisbon", attributes = new { topic = "basic_info", sub_topic = "city" } }).Ok();

        await using var pinned = await ConnectAsync(defaultUser: user);
        var profiles = Structured(await pinned.CallToolAsync("get_profile", Args()))["profiles"]!.AsArray();
        Assert.Equal("Lives in Lisbon", Assert.Single(profiles)!["content"]!.GetValue<string>());
        // An explicit user_id still wins.
        var other = await rest.CreateUserAsync();
        Assert.Empty(Structured(await pinned.CallToolAsync("get_profile", Args(("user_id", other.ToString()))))["profiles"]!.AsArray());

        await using var badPin = await ConnectAsync(defaultUser: null);
        Assert.StartsWith("user_id: Field required", ToolError(await badPin.CallToolAsync("get_context", Args())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_without_a_valid_token_get_401_with_WWW_Authenticate_and_projects_are_isolated()
    {
        using var http = app.CreateClient();
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        foreach (var token in new[] { null, "wrong-token", "sk-nosuchproject-secret" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(initialize, Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd("application/json");
            request.Headers.Accept.ParseAdd("text/event-stream");
            if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        }
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync("wrong-token"));

        // A project token sees its own users only; the root project's user is invisible to it and vice versa.
        var projectRest = await app.ProjectClientAsync("mcp-tenant");
        var projectToken = projectRest.DefaultRequestHeaders.Authorization!.Parameter!;
        var rootUser = await app.Client().CreateUserAsync();
        await app.Client().PostJson($"/api/v1/users/profile/{rootUser}", new { content = "Root secret", attributes = new { topic = "a", sub_topic = "b" } }).Ok();

        await using var tenant = await ConnectAsync(projectToken);
        Assert.Empty(Structured(await tenant.CallToolAsync("get_profile", Args(("user_id", rootUser.ToString()))))["profiles"]!.AsArray());
        Assert.Equal($"User {rootUser} not found",
            ToolError(await tenant.CallToolAsync("add_profile", Args(("user_id", rootUser.ToString()), ("topic", "a"), ("sub_topic", "b"), ("content", "x")))));
        Assert.DoesNotContain("Root secret", Structured(await tenant.CallToolAsync("get_context", Args(("user_id", rootUser.ToString()))))["context"]!.GetValue<string>(),
            StringComparison.Ordinal);

        var tenantUser = Guid.NewGuid();
        Structured(await tenant.CallToolAsync("insert_chat", Args(("user_id", tenantUser.ToString()), ("messages", new object[] { new { role = "user", content = "tenant only" } }))));
        await projectRest.GetAsync($"/api/v1/users/{tenantUser}").Ok();
        Assert.Equal($"User {tenantUser} not found", await app.Client().GetAsync($"/api/v1/users/{tenantUser}").Fails(404));
    }

    [Fact]
    public async Task The_MCP_endpoint_is_not_in_the_served_OpenAPI_document()
    {
        var document = await app.CreateClient().GetStringAsync("/openapi.json");
        var paths = JsonNode.Parse(document)!["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.NotEmpty(paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/mcp", StringComparison.Ordinal));
    }
}
