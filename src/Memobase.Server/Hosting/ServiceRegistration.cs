using Memobase.Server.Admin;
using Memobase.Server.AdminUi;
using Memobase.Server.Blobs;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Idempotency;
using Memobase.Server.Llm;
using Memobase.Server.Mcp;
using Memobase.Server.Observability;
using Memobase.Server.Processing;
using Memobase.Server.Profiles;
using Memobase.Server.Projects;
using Memobase.Server.Users;
using Memobase.Server.Webhooks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;

namespace Memobase.Server.Hosting;

public static class ServiceRegistration
{
    public static WebApplicationBuilder AddMemobase(this WebApplicationBuilder builder)
    {
        builder.Configuration.InsertUpstreamConfiguration();
        builder.AddMemobaseLogging();

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
        // Binding failures reach the validation filter (RequestValidation), which answers the 422.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = false);
        builder.WebHost.ConfigureKestrel(o =>
        {
            // Twice our own limits, so that RequestSizeGuard (which answers with the envelope) sees what is too large.
            o.Limits.MaxRequestLineSize = 2 * RequestLimits.MaxRequestLineBytes;
            o.Limits.MaxRequestHeadersTotalSize = 2 * RequestLimits.MaxRequestHeaderBytes;
            o.Limits.MaxRequestBodySize = RequestLimits.MaxBodyBytes;
        });
        services.AddOpenApiDocument();

        services.AddMemobaseDatabase(builder.Configuration);
        services.AddMemobaseOptions<AuthOptions>().Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddMemobaseOptions<BufferOptions>().Services.AddSingleton<IValidateOptions<BufferOptions>, BufferOptionsValidator>();
        services.AddMemobaseOptions<BackgroundWorkOptions>();
        services.AddMemobaseLlm();
        services.AddMemobaseProfiles();
        services.AddMemobaseProcessing();
        services.AddMemobaseObservability(builder.Configuration);
        services.AddMemobaseMemoryApi();
        services.AddAdminUi();
        services.AddMemobaseMcp();
        services.AddIdempotency();
        services.AddMemobaseWebhooks();

        services.AddSingleton<ProjectTokenAuthenticator>();
        services.AddMemobaseAuth();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddMemobaseRateLimiting();
        services.AddSingleton<UsageRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageRecorder>());
        services.AddSingleton<ConversationBuffers>();
        services.AddSingleton<BufferEntryReader>();
        services.AddSingleton<UserDirectory>();
        services.AddSingleton<UsageReader>();
        services.AddScoped<ProjectStore>();
        services.AddSingleton<ProfileConfigStore>();
        services.AddSingleton<BufferService>();
        services.AddScoped<BlobStore>();
        services.AddSingleton<BlobService>();
        services.AddSingleton<UserStore>();
        return builder;
    }

    public static WebApplication UseMemobase(this WebApplication app)
    {
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseMemobaseRequestLogging();
        // ApiExceptionHandler answers every exception; the options' handler is the framework's required last resort.
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = ApiExceptionHandler.WriteUnknownErrorAsync });
        app.UseStatusCodePages(ErrorResponses.WriteStatusPage);
        app.UseMiddleware<RequestSizeGuard>();
        app.UseMemobaseObservability();
        app.UseMemobaseApiDocs();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseMiddleware<RequestBodyGuard>();
        return app;
    }

    public static WebApplication MapMemobaseEndpoints(this WebApplication app)
    {
        var api = app.MapGroup("").RequireAuthorization(MemobaseAuth.Project).WithRequestValidation();
        api.MapHealth();
        api.MapUsers();
        api.MapBlobs();
        api.MapBuffers();
        api.MapMemobaseMemoryApi();

        var admin = app.MapGroup("").RequireAuthorization(MemobaseAuth.Root).WithRequestValidation();
        admin.MapProjectsAdmin();
        admin.MapAdminBuffers();
        app.MapMemobaseWebhooks();

        app.MapMemobaseObservability();

        app.MapAdminUi();
        app.MapMemobaseMcp();
        return app;
    }

    /// <summary>
    /// Adds upstream's configuration names (config.yaml, MEMOBASE_*, DATABASE_URL, ACCESS_TOKEN) just below the .NET
    /// environment-variable source, so appsettings &lt; upstream names &lt; .NET-style variables &lt; command line.
    /// </summary>
    private static void InsertUpstreamConfiguration(this ConfigurationManager configuration)
    {
        var temp = new ConfigurationBuilder().AddUpstreamMemobaseConfiguration(workingDirectory: Directory.GetCurrentDirectory());
        var source = (MemoryConfigurationSource)temp.Sources[0];
        var sources = configuration.Sources;
        var index = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is EnvironmentVariablesConfigurationSource { Prefix: null or "" })
            {
                index = i;
                break;
            }
        }
        if (index < 0) sources.Add(source);
        else sources.Insert(index, source);
    }
}
