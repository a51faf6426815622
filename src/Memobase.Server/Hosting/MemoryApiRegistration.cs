using Memobase.Server.Users;
using Memobase.Server.Infrastructure;
using Memobase.Server.Context;
using Memobase.Server.Events;
using Memobase.Server.Profiles;
using Memobase.Server.Projects;

namespace Memobase.Server.Hosting;

/// <summary>The memory read/write API: profiles, events and search, context, project config, users, usage and billing.</summary>
public static class MemoryApiRegistration
{
    /// <summary>
    /// Registers <see cref="BillingOptions"/> (usage_token_limit_active / _pro / _ultra, billing_quota_cache_seconds) and
    /// the singletons <see cref="EventStore"/>, <see cref="EventService"/>,
    /// <see cref="IEventVectorSearch"/> (<see cref="SignCodeEventVectorSearch"/>, with <see cref="EventSearchOptions"/>; register a
    /// pgvector implementation here to replace it),
    /// <see cref="ContextBuilder"/> and <see cref="BillingService"/>. Needs the LLM services (<c>AddMemobaseLlm</c>).
    /// </summary>
    public static IServiceCollection AddMemobaseMemoryApi(this IServiceCollection services)
    {
        BillingOptions.Register(services);
        services.AddSingleton<EventStore>();
        services.AddSingleton<EventService>();
        services.AddMemobaseOptions<EventSearchOptions>();
        services.AddSingleton<IEventVectorSearch, SignCodeEventVectorSearch>();
        services.AddSingleton<ContextBuilder>();
        services.AddSingleton<BillingService>();
        return services;
    }

    public static IEndpointRouteBuilder MapMemobaseMemoryApi(this IEndpointRouteBuilder app)
    {
        app.MapProfiles();
        app.MapEvents();
        app.MapContext();
        app.MapProfileConfig();
        app.MapProject();
        app.MapProjectUsers();
        return app;
    }
}
