using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Memobase.Server.Infrastructure;

/// <summary>OpenAPI document at <c>/openapi.json</c> and Swagger UI at <c>/docs</c> (both public, like upstream's FastAPI).</summary>
public static class ApiDocs
{
    public static IServiceCollection AddOpenApiDocument(this IServiceCollection services)
        => services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer((doc, _, _) =>
            {
                doc.Info = new OpenApiInfo
                {
                    Title = "Memobase API",
                    Summary = "APIs for Memobase, a user memory system for LLM Apps",
                    Version = "0.0.40",
                    Description = "Memobase-compatible user memory server (C# / .NET). Every /api route needs Authorization: Bearer <token>.",
                };
                doc.Components ??= new OpenApiComponents();
                doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                doc.Components.SecuritySchemes["BearerAuth"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer" };
                doc.Security ??= [];
                doc.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("BearerAuth", doc)] = [] });
                return Task.CompletedTask;
            });
        });

    public static WebApplication UseMemobaseApiDocs(this WebApplication app)
    {
        app.MapOpenApi("/openapi.json");
        app.UseSwaggerUI(c =>
        {
            c.SwaggerEndpoint("/openapi.json", "Memobase API");
            c.RoutePrefix = "docs";
            c.DocumentTitle = "Memobase API";
        });
        return app;
    }
}
