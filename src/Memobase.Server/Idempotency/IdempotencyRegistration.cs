using System.Text.Json.Nodes;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Memobase.Server.Idempotency;

public static class IdempotencyRegistration
{
    /// <summary>
    /// Registers <see cref="IdempotencyOptions"/>, the scoped <see cref="RequestTransaction"/>, the store, the purge of
    /// expired keys (part of the worker's maintenance) and the description of the header in the OpenAPI document.
    /// </summary>
    public static IServiceCollection AddIdempotency(this IServiceCollection services)
    {
        services.AddMemobaseOptions<IdempotencyOptions>();
        services.AddScoped<RequestTransaction>();
        services.AddSingleton<IdempotencyStore>();
        services.AddHostedService<IdempotencyKeyPurger>();
        services.Configure<OpenApiOptions>("v1", o => o.AddOperationTransformer(DescribeHeader));
        return services;
    }

    /// <summary>Honours <c>Idempotency-Key</c> on the endpoint (<see cref="IdempotencyFilter"/>).</summary>
    /// <param name="withFlushResults">Puts a waited-for flush's results into the response's data (the data is kept when null).</param>
    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder, Func<JsonNode?, JsonNode, JsonNode?>? withFlushResults = null)
        => builder.WithMetadata(new IdempotentEndpoint(withFlushResults ?? ((data, _) => data))).AddEndpointFilter<IdempotencyFilter>();

    private static Task DescribeHeader(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<IdempotentEndpoint>().Any()) return Task.CompletedTask;
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = IdempotencyFilter.HeaderName,
            In = ParameterLocation.Header,
            Required = false,
            Description = "Makes retries safe: a repeat of the same request (method, path, query string, body) with the same key, " +
                          "within idempotency_key_retention_hours, returns the stored response and writes nothing. " +
                          "1-255 printable ASCII characters, scoped to the project.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = MemobaseDb.IdempotencyKeyLength },
        });
        operation.Responses ??= [];
        operation.Responses["409"] = new OpenApiResponse
        {
            Description = "The Idempotency-Key was already used for a different request (errno 409)",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = context.Document is { } doc ? new OpenApiSchemaReference("BaseResponse", doc) : null },
            },
        };
        return Task.CompletedTask;
    }
}

/// <summary>Deletes expired idempotency keys every <c>worker_maintenance_seconds</c> in processes that run the worker.</summary>
public sealed partial class IdempotencyKeyPurger(
    IdempotencyStore store,
    Microsoft.Extensions.Options.IOptionsMonitor<BackgroundWorkOptions> worker,
    ILogger<IdempotencyKeyPurger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!worker.CurrentValue.Enabled) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var purged = await store.PurgeExpiredAsync(stoppingToken);
                if (purged > 0) LogPurged(logger, purged);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
            {
                LogPurgeFailed(logger, ex.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(worker.CurrentValue.MaintenanceSeconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 4902, Level = LogLevel.Debug, Message = "Purged {Count} expired idempotency key(s)")]
    private static partial void LogPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 4903, Level = LogLevel.Warning, Message = "Purging expired idempotency keys failed: {Error}")]
    private static partial void LogPurgeFailed(ILogger logger, string error);
}
