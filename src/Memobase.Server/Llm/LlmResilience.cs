using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Llm;

/// <summary>
/// The resilience handler (Microsoft.Extensions.Http.Resilience) of the LLM and embedding HTTP clients: a retry strategy
/// around a per-attempt timeout. Each attempt has <c>llm_timeout_seconds</c>, body included (the
/// <see cref="ProviderResponseHandler"/> inside it reads the body); 408/5xx responses, connection errors and attempt
/// timeouts are retried <c>llm_max_retries</c> times, after the response's <c>retry-after-ms</c> / <c>Retry-After</c>
/// (at most 60 s) or an exponential backoff with jitter from <c>llm_retry_base_delay_ms</c>. A chat 429 is not retried
/// here: <see cref="LlmClient"/> waits it out with the throttle, without spending a retry. There is no total-request
/// timeout and no circuit breaker, as before: a job's own attempt limit and backoff stop a failing provider.
/// </summary>
internal static partial class LlmResilience
{
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>Adds the handler to a named client; <paramref name="kind"/> is <see cref="LlmCallTelemetry.Chat"/> or <see cref="LlmCallTelemetry.Embedding"/>.</summary>
    public static IHttpClientBuilder AddLlmResilience(this IHttpClientBuilder builder, string kind)
    {
        builder.AddResilienceHandler(kind, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<LlmOptions>>().Value;
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>()
                .CreateLogger(kind == LlmCallTelemetry.Chat ? typeof(LlmClient).FullName! : typeof(EmbeddingClient).FullName!);
            if (options.LlmMaxRetries > 0)
            {
                pipeline.AddRetry(RetryOptions(options, logger, kind));
            }
            pipeline.AddTimeout(TimeSpan.FromSeconds(options.LlmTimeoutSeconds));
        });
        return builder;
    }

    private static HttpRetryStrategyOptions RetryOptions(LlmOptions options, ILogger logger, string kind) => new()
    {
        MaxRetryAttempts = options.LlmMaxRetries,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = TimeSpan.FromMilliseconds(options.LlmRetryBaseDelayMs),
        ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
        {
            { Exception: HttpRequestException or TimeoutRejectedException } => true,
            // Chat 429s are waited out by LlmClient, outside the retry budget.
            { Result: { } r } => IsRetryableStatus(r.StatusCode) && !(kind == LlmCallTelemetry.Chat && r.StatusCode == HttpStatusCode.TooManyRequests),
            _ => false,
        }),
        DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r && RetryAfter(r) is { } d
            ? (TimeSpan?)(d < MaxRetryAfter ? d : MaxRetryAfter)
            : null),
        OnRetry = args =>
        {
            var reason = args.Outcome.Exception is { } ex ? ex.GetType().Name : $"HTTP {(int)args.Outcome.Result!.StatusCode}";
            var cause = args.Outcome.Exception switch
            {
                TimeoutRejectedException => "timeout",
                HttpRequestException => "connection",
                _ => (int)args.Outcome.Result!.StatusCode >= 500 ? "http_5xx" : $"http_{(int)args.Outcome.Result!.StatusCode}",
            };
            MemobaseTelemetry.LlmRetries.Add(1, new KeyValuePair<string, object?>("project_id", LlmCallContext.ProjectId),
                new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("cause", cause));
            LogRetry(logger, kind, args.AttemptNumber + 1, options.LlmMaxRetries, reason, (int)args.RetryDelay.TotalMilliseconds);
            return ValueTask.CompletedTask;
        },
    };

    private static bool IsRetryableStatus(HttpStatusCode status) => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>OpenAI's <c>retry-after-ms</c>, else the standard <c>Retry-After</c> (seconds or an HTTP date); null when absent.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
        => RetryAfter(response.Headers.TryGetValues("retry-after-ms", out var ms) ? ms.FirstOrDefault() : null,
            response.Headers.TryGetValues("Retry-After", out var ra) ? ra.FirstOrDefault() : null);

    /// <summary>The wait named by the raw values of <c>retry-after-ms</c> and <c>Retry-After</c>; null when neither names one.</summary>
    internal static TimeSpan? RetryAfter(string? retryAfterMs, string? retryAfter)
    {
        if (double.TryParse(retryAfterMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }
        if (!RetryConditionHeaderValue.TryParse(retryAfter, out var header))
        {
            return null;
        }
        var delay = header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is { } d ? (d > TimeSpan.Zero ? d : TimeSpan.Zero) : null;
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "{Kind} request attempt failed ({Reason}); retry {Retry}/{MaxRetries} in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, string kind, int retry, int maxRetries, string reason, int delayMs);
}
