using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Memobase.Server.Mcp;

/// <summary>JSON of tool arguments, results and schemas: the REST API's wire format.</summary>
public static class McpJson
{
    public static JsonSerializerOptions Options => Json.Wire;
}

/// <summary>
/// The MCP server at <c>/mcp</c> (Streamable HTTP, stateless, so any replica serves any request): the user's memory as
/// the tools of <see cref="MemoryTools"/>, for the project of the request's bearer token.
/// </summary>
public static class McpRegistration
{
    public const string Path = "/mcp";

    private const string Instructions =
        "Long-term memory of the people you talk to. Store conversations with insert_chat; an LLM on the server turns them into " +
        "profile entries (facts) and events, automatically or when flush_buffer is called. At the start of a conversation call " +
        "get_context and use it to personalise answers. get_profile lists facts with their ids; add_profile, update_profile and " +
        "delete_profile edit them (delete_profile when the user asks to forget something). get_events and search_events read events.";

    public static IServiceCollection AddMemobaseMcp(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation
                {
                    Name = "memobase",
                    Title = "Memobase user memory",
                    Version = typeof(McpRegistration).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
                };
                o.ServerInstructions = Instructions;
            })
            .WithHttpTransport(o => o.Stateless = true)
            .WithTools([typeof(MemoryTools)], McpJson.Options)
            .WithRequestFilters(filters => filters.AddListToolsFilter(next => async (context, ct) =>
            {
                var result = await next(context, ct);
                var pinned = McpRequest.HasDefaultUser(context.Services?.GetService<IHttpContextAccessor>()?.HttpContext);
                // Edited on a copy: the SDK reuses its tool definitions across requests.
                var copy = JsonSerializer.Deserialize<ListToolsResult>(JsonSerializer.SerializeToElement(result, McpJsonUtilities.DefaultOptions),
                    McpJsonUtilities.DefaultOptions)!;
                foreach (var tool in copy.Tools) tool.InputSchema = RefineInputSchema(tool.InputSchema, requireUserId: !pinned);
                return copy;
            }));
        return services;
    }

    /// <summary>Maps <see cref="Path"/> for any valid bearer token (<see cref="MemobaseAuth.Project"/>); not part of the OpenAPI document.</summary>
    public static IEndpointConventionBuilder MapMemobaseMcp(this IEndpointRouteBuilder app)
        => app.MapMcp(Path).RequireAuthorization(MemobaseAuth.Project).ExcludeFromDescription();

    /// <summary>
    /// What the generated schemas cannot say: ids are UUIDs, a message's role is user or assistant, and (without a pinned
    /// default user) <c>user_id</c> is required.
    /// </summary>
    private static JsonElement RefineInputSchema(JsonElement schema, bool requireUserId)
    {
        var node = JsonNode.Parse(schema.GetRawText())!.AsObject();
        if (node["properties"] is not JsonObject properties) return schema;
        foreach (var (name, property) in properties)
        {
            if (property is not JsonObject p) continue;
            if (name.EndsWith("_id", StringComparison.Ordinal)) p["format"] = "uuid";
            if (p["items"]?["properties"]?["role"] is JsonObject role) role["enum"] = new JsonArray("user", "assistant");
        }
        if (requireUserId && properties.ContainsKey("user_id"))
        {
            var required = node["required"] as JsonArray ?? [];
            if (!required.Any(r => r?.GetValue<string>() == "user_id")) required.Insert(0, "user_id");
            node["required"] = required;
        }
        return JsonSerializer.SerializeToElement(node);
    }
}
