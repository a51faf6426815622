using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Memobase.Server.Blobs;
using Memobase.Server.Buffers;
using Memobase.Server.Context;
using Memobase.Server.Events;
using Memobase.Server.Profiles;
using Memobase.Server.Projects;
using Memobase.Server.Users;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Memobase.Server.Content;
using Memobase.Server.Infrastructure;

namespace Memobase.Server.Hosting;

/// <summary>
/// OpenAPI document at <c>/openapi.json</c> and Swagger UI at <c>/docs</c> (both public, like upstream's FastAPI).
/// The generated document is brought close to upstream's: envelope types get upstream's schema names
/// (<c>ApiResponse&lt;IdsData&gt;</c> → <c>IdsResponse</c>, …), <c>errno</c> is the <c>CODE</c> enum, blob/buffer type
/// path values are the <c>BlobType</c> enum and lenient query booleans are booleans. <c>openapi.yaml</c> at the
/// repository root is the curated description; a test keeps its paths, operations and parameters equal to this one.
/// </summary>
public static class ApiDocs
{
    public const string BlobTypeSchema = "BlobType";
    public const string CodeSchema = "CODE";

    /// <summary>Upstream's schema names for our types (the generic envelope and the types whose names differ).</summary>
    private static readonly Dictionary<Type, string> UpstreamNames = new()
    {
        [typeof(ApiResponse<object>)] = "BaseResponse",
        [typeof(ApiResponse<IdData>)] = "IdResponse",
        [typeof(ApiResponse<IdsData>)] = "IdsResponse",
        [typeof(ApiResponse<UserData>)] = "UserDataResponse",
        [typeof(ApiResponse<BlobRecord>)] = "BlobDataResponse",
        [typeof(BlobRecord)] = "BlobData",
        [typeof(ApiResponse<BlobInsertData>)] = "BlobInsertResponse",
        [typeof(ApiResponse<IReadOnlyList<FlushResult>>)] = "ChatModalAPIResponse",
        [typeof(FlushResult)] = "ChatModalResponse",
        [typeof(ApiResponse<ProfilesData>)] = "UserProfileResponse",
        [typeof(ProfilesData)] = "UserProfilesData",
        [typeof(ProfileDeltaRequest)] = "ProfileDelta",
        [typeof(ProfileImportRequest)] = "UserContextImport",
        [typeof(ApiResponse<UserEventsData>)] = "UserEventsDataResponse",
        [typeof(ApiResponse<UserEventGistsData>)] = "UserEventGistsDataResponse",
        [typeof(ApiResponse<ContextData>)] = "UserContextDataResponse",
        [typeof(ApiResponse<ProfileConfigData>)] = "ProfileConfigDataResponse",
        [typeof(ApiResponse<BillingData>)] = "BillingResponse",
        [typeof(ApiResponse<ProjectUsersData>)] = "ProjectUsersDataResponse",
        [typeof(ApiResponse<IReadOnlyList<DailyUsage>>)] = "UsageResponse",
        [typeof(ApiResponse<ConversationBufferView>)] = "SuccessResultConversationBufferView",
        [typeof(HttpValidationError)] = "HTTPValidationError",
        [typeof(ValidationError)] = "ValidationError",
    };


    /// <summary>The errno values (upstream's CODE enum), from <see cref="Errno"/>.</summary>
    private static readonly int[] ErrnoValues = typeof(Errno).GetFields()
        .Where(f => f.IsLiteral && f.FieldType == typeof(int))
        .Select(f => (int)f.GetRawConstantValue()!)
        .Order()
        .ToArray();

    public static IServiceCollection AddOpenApiDocument(this IServiceCollection services)
        => services.AddOpenApi("v1", o =>
        {
            o.CreateSchemaReferenceId = SchemaReferenceId;
            o.AddSchemaTransformer(TransformSchema);
            o.AddOperationTransformer(TransformOperationAsync);
            o.AddDocumentTransformer((doc, _, _) =>
            {
                doc.Info = new OpenApiInfo
                {
                    Title = "Memobase API",
                    Summary = "APIs for Memobase, a user memory system for LLM Apps",
                    Version = "0.0.40",
                    Description = "Memobase-compatible user memory server (C# / .NET). Every /api route needs Authorization: Bearer <token> " +
                                  "(except the healthcheck); /admin routes need the root token. Every JSON response is the envelope " +
                                  "{data, errno, errmsg}; business errors are HTTP 200 with errno ≠ 0, request validation errors HTTP 422.",
                };
                EnsureEnumComponents(doc);
                DescribeEnvelopes(doc);
                doc.Components!.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                doc.Components.SecuritySchemes["BearerAuth"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer" };
                doc.Security ??= [];
                doc.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("BearerAuth", doc)] = [] });
                return Task.CompletedTask;
            });
        });

    public static WebApplication UseMemobaseApiDocs(this WebApplication app)
    {
        app.MapOpenApi("/openapi.json").AllowAnonymous();
        app.UseSwaggerUI(c =>
        {
            c.SwaggerEndpoint("/openapi.json", "Memobase API");
            c.RoutePrefix = "docs";
            c.DocumentTitle = "Memobase API";
        });
        return app;
    }

    /// <summary>Registers the <c>BlobType</c> and <c>CODE</c> enums (before anything references them).</summary>
    private static void EnsureEnumComponents(OpenApiDocument document)
    {
        if (document.Components?.Schemas?.ContainsKey(CodeSchema) == true) return;
        // AddComponent also registers the schema in the document's workspace, so references to it resolve.
        document.AddComponent<IOpenApiSchema>(BlobTypeSchema, new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Title = BlobTypeSchema,
            Enum = [.. BlobTypes.All.Select(t => (JsonNode)JsonValue.Create(t))],
        });
        document.AddComponent<IOpenApiSchema>(CodeSchema, new OpenApiSchema
        {
            Type = JsonSchemaType.Integer,
            Title = CodeSchema,
            Enum = [.. ErrnoValues.Select(v => (JsonNode)JsonValue.Create(v))],
        });
    }

    /// <summary>
    /// Points every envelope's <c>errno</c> at the <c>CODE</c> enum. Done on the finished document: a reference set
    /// by a schema transformer gets inlined by the generator.
    /// </summary>
    private static void DescribeEnvelopes(OpenApiDocument document)
    {
        foreach (var schema in document.Components?.Schemas?.Values ?? [])
        {
            if (schema is not OpenApiSchema { Properties: { } p } || !p.ContainsKey("data") || !p.ContainsKey("errno")) continue;
            p["errno"] = new OpenApiSchemaReference(CodeSchema, document) { Description = "Error code, 0 means success" };
            if (p.TryGetValue("errmsg", out var errmsg) && errmsg is OpenApiSchema message) message.Description = "Error message, empty when success";
        }
    }

    /// <summary>
    /// Component name of a type: upstream's name where it has one, <c>&lt;Data&gt;Response</c> for other envelopes
    /// (<c>&lt;Item&gt;ListResponse</c> for lists), JSON values inlined, otherwise the framework's default.
    /// </summary>
    private static string? SchemaReferenceId(JsonTypeInfo info)
    {
        var type = info.Type;
        if (type == typeof(JsonElement) || type == typeof(JsonElement?)) return null;
        if (NameOf(type) is { } name) return name;
        return OpenApiOptions.CreateDefaultSchemaReferenceId(info);
    }

    private static string? NameOf(Type type)
    {
        if (UpstreamNames.TryGetValue(type, out var name)) return name;
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(ApiResponse<>)) return null;
        var data = type.GetGenericArguments()[0];
        if (data.IsGenericType && data.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var item = data.GetGenericArguments()[0];
            return (UpstreamNames.GetValueOrDefault(item) ?? item.Name) + "ListResponse";
        }
        return (UpstreamNames.GetValueOrDefault(data) ?? data.Name) + "Response";
    }

    private static Task TransformSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        // The server writes numbers as JSON numbers; "integer or numeric string" only reflects lenient reading.
        if (schema.Type is { } t && (t & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0)
        {
            schema.Type = t & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonTypeInfo.Type == typeof(ValidationError) && schema.Properties is { } error && error.TryGetValue("loc", out var loc) && loc is OpenApiSchema location)
        {
            location.Items = new OpenApiSchema
            {
                AnyOf = [new OpenApiSchema { Type = JsonSchemaType.String }, new OpenApiSchema { Type = JsonSchemaType.Integer }],
            };
        }
        return Task.CompletedTask;
    }

    private static async Task TransformOperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var description = context.Description;

        // Endpoints that opt out of the fallback policy need no token.
        if (description.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [];
        }

        foreach (var parameter in operation.Parameters ?? [])
        {
            if (parameter is not OpenApiParameter p || p.Name is null) continue;
            var clrType = description.ParameterDescriptions.FirstOrDefault(d => d.Name == p.Name)?.Type;
            clrType = clrType is null ? null : Nullable.GetUnderlyingType(clrType) ?? clrType;
            if (p.In == ParameterLocation.Path && RouteIds.Uuid45.Contains(p.Name))
            {
                p.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" };
                p.Description ??= "UUID version 4 or 5 (any other value → HTTP 422)";
            }
            else if (p.In == ParameterLocation.Path && RouteIds.BlobType.Contains(p.Name) && context.Document is { } host)
            {
                EnsureEnumComponents(host);
                p.Schema = new OpenApiSchemaReference(BlobTypeSchema, host);
            }
            else if (clrType == typeof(Flag))
            {
                p.Schema = new OpenApiSchema { Type = JsonSchemaType.Boolean };
                p.Description ??= "Boolean: true/false, 1/0, yes/no, on/off (any case)";
            }
        }

        // Handlers that parse the JSON body themselves declare its documented shape with Accepts<T>().
        var accepts = description.ActionDescriptor.EndpointMetadata.OfType<IAcceptsMetadata>()
            .LastOrDefault(a => a.RequestType is { } r && r != typeof(JsonElement) && r != typeof(JsonElement?));
        if (accepts?.RequestType is { } requestType && operation.RequestBody?.Content is { } content && context.Document is { } document)
        {
            var id = NameOf(requestType) ?? requestType.Name;
            var schema = await context.GetOrCreateSchemaAsync(requestType, null, ct);
            if (document.Components?.Schemas?.ContainsKey(id) != true) document.AddComponent<IOpenApiSchema>(id, schema);
            foreach (var media in content.Values) media.Schema = new OpenApiSchemaReference(id, document);
        }
    }
}
