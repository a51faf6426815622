using Memobase.Server.Infrastructure;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Webhooks;

public static class WebhookRegistration
{
    public static IServiceCollection AddMemobaseWebhooks(this IServiceCollection services)
    {
        services.AddMemobaseOptions<WebhookOptions>().Services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddScoped<WebhookStore>();
        services.AddSingleton<WebhookDeliveryQueue>();
        services.AddHttpClient(WebhookDeliveryWorker.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var handler = new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    UseCookies = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                };
                if (!sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateUrls) handler.ConnectCallback = WebhookUrls.ConnectPublicAsync;
                return handler;
            });
        services.AddSingleton<WebhookDeliveryWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDeliveryWorker>());
        return services;
    }

    /// <summary>The webhook admin API, for the root token or the project's own token.</summary>
    public static IEndpointRouteBuilder MapMemobaseWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapGroup("").RequireAuthorization(MemobaseAuth.ProjectOrRoot).WithRequestValidation().MapWebhooks();
        return app;
    }
}
