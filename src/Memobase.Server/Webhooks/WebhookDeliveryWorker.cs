using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Memobase.Server.Data;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Infrastructure;

namespace Memobase.Server.Webhooks;

/// <summary>
/// Delivers the outbox: <see cref="WebhookOptions.Concurrency"/> loops claim due deliveries and POST them, signed, with
/// a per-attempt timeout; failures are retried with exponential backoff up to <see cref="WebhookOptions.MaxAttempts"/>.
/// A LISTEN on <see cref="WebhookOutbox.NotifyChannel"/> wakes the loops when a transaction wrote messages; retries become
/// due by polling. Runs where <c>worker_enabled</c> is on; any number of processes can share the work.
/// </summary>
public sealed partial class WebhookDeliveryWorker(
    WebhookDeliveryQueue queue,
    IHttpClientFactory httpClients,
    DedicatedConnections dedicated,
    IOptionsMonitor<WebhookOptions> options,
    IOptionsMonitor<BackgroundWorkOptions> workerOptions,
    TimeProvider clock,
    ILogger<WebhookDeliveryWorker> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!workerOptions.CurrentValue.Enabled) return Task.CompletedTask;
        var loops = Enumerable.Range(0, options.CurrentValue.Concurrency)
            .Select(i => Task.Run(() => DeliverLoopAsync(purges: i == 0, stoppingToken), stoppingToken)).ToList();
        loops.Add(Task.Run(() => ListenLoopAsync(stoppingToken), stoppingToken));
        return Task.WhenAll(loops);
    }

    private async Task DeliverLoopAsync(bool purges, CancellationToken stop)
    {
        var lastPurge = Stopwatch.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var o = options.CurrentValue;
                if (purges && o.RetentionDays > 0 && Stopwatch.GetElapsedTime(lastPurge) > TimeSpan.FromMinutes(5))
                {
                    lastPurge = Stopwatch.GetTimestamp();
                    await queue.PurgeAsync(TimeSpan.FromDays(o.RetentionDays), stop);
                }
                // The lease outlasts the attempt's timeout, so no other worker sends the same attempt.
                var delivery = await queue.ClaimAsync(o.Timeout + TimeSpan.FromSeconds(30), stop);
                if (delivery is null)
                {
                    await WaitAsync(TimeSpan.FromSeconds(o.PollSeconds), stop);
                    continue;
                }
                _wake.Writer.TryWrite(true); // there may be more: let another loop look
                await DeliverAsync(delivery, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopError(logger, ex);
                await Delay(TimeSpan.FromSeconds(1), stop);
            }
        }
    }

    /// <summary>One attempt: POST the stored payload with the Standard Webhooks headers; 2xx is success, anything else a failure.</summary>
    internal async Task DeliverAsync(ClaimedDelivery delivery, CancellationToken stop)
    {
        var o = options.CurrentValue;
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", delivery.Id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", WebhookSigner.Sign(delivery.Secret, delivery.Id, timestamp, delivery.Payload));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("memobase-server-webhooks", "1"));

        int? status = null;
        string? error = null;
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        attempt.CancelAfter(o.Timeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode) error = $"HTTP {status}";
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await queue.ReleaseAsync(delivery, CancellationToken.None);
            throw;
        }
        catch (OperationCanceledException)
        {
            error = $"timed out after {o.TimeoutSeconds} s";
        }
        catch (HttpRequestException ex)
        {
            error = ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{ex.Message} ({inner.Message})" : ex.Message;
        }

        if (error is null)
        {
            await queue.RecordSuccessAsync(delivery, status!.Value, CancellationToken.None);
            return;
        }
        var (failed, disabled) = await queue.RecordFailureAsync(delivery, status, error, o.MaxAttempts, o.Backoff(delivery.Attempt),
            o.DisableAfterFailures, CancellationToken.None);
        LogAttemptFailed(logger, delivery.Id, delivery.EndpointId, delivery.Attempt, error, failed ? "failed" : "retrying");
        if (disabled is not null) LogEndpointDisabled(logger, delivery.EndpointId, delivery.ProjectId, disabled);
    }

    private async Task ListenLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var conn = await dedicated.OpenAsync(stop);
                conn.Notification += (_, _) => _wake.Writer.TryWrite(true);
                await using (var cmd = new NpgsqlCommand($"LISTEN {WebhookOutbox.NotifyChannel}", conn))
                {
                    await cmd.ExecuteNonQueryAsync(stop);
                }
                while (!stop.IsCancellationRequested) await conn.WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenError(logger, ex);
                await Delay(TimeSpan.FromSeconds(2), stop);
            }
        }
    }

    private async Task WaitAsync(TimeSpan timeout, CancellationToken stop)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cts.CancelAfter(timeout);
        try
        {
            await _wake.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to endpoint {EndpointId}, attempt {Attempt}: {Error}; {Outcome}")]
    private static partial void LogAttemptFailed(ILogger logger, string deliveryId, Guid endpointId, int attempt, string error, string outcome);

    [LoggerMessage(EventId = 121, Level = LogLevel.Warning, Message = "Webhook endpoint {EndpointId} of project {ProjectId} disabled: {Reason}")]
    private static partial void LogEndpointDisabled(ILogger logger, Guid endpointId, string projectId, string reason);

    [LoggerMessage(EventId = 122, Level = LogLevel.Error, Message = "Webhook delivery loop error")]
    private static partial void LogLoopError(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 123, Level = LogLevel.Warning, Message = "Webhook LISTEN connection failed; reconnecting")]
    private static partial void LogListenError(ILogger logger, Exception ex);
}
