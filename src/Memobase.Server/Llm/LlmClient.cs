using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Memobase.Server.Observability;
using Memobase.Server.Tokenization;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Memobase.Server.Llm;

/// <summary>One chat completion: the text and what it cost.</summary>
/// <param name="Text">The assistant message content ("" when the model returned none).</param>
/// <param name="PromptTokens">From the response's <c>usage.prompt_tokens</c>, else o200k tokens of system + user prompt.</param>
/// <param name="CompletionTokens">From <c>usage.completion_tokens</c>, else o200k tokens of <paramref name="Text"/>.</param>
/// <param name="ElapsedMs">Wall time of the call, retries included.</param>
public sealed record LlmCompletion(string Text, int PromptTokens, int CompletionTokens, int ElapsedMs);

/// <summary>An LLM or embedding request that failed for good (after the HTTP-level retries).</summary>
public class LlmException(string message, int? statusCode = null, Exception? inner = null, string? cause = null) : Exception(message, inner)
{
    /// <summary>The HTTP status of the last attempt, when there was a response.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>
    /// A bounded label for metrics: <c>configuration</c>, <c>http_&lt;status&gt;</c>, <c>timeout</c>, <c>connection</c> or <c>response</c>.
    /// </summary>
    public string Cause { get; } = cause ?? (statusCode is { } s ? $"http_{s}" : "response");

    /// <summary>
    /// True when no retry can help: the endpoint rejected the credentials (HTTP 401/403), or the URL or model does not
    /// exist (HTTP 404, or an error body naming <c>model_not_found</c>). The job fails at once instead of backing off.
    /// </summary>
    public virtual bool IsConfigurationError => StatusCode is 401 or 403 or 404
        || (StatusCode is 400 && Message.Contains("model_not_found", StringComparison.OrdinalIgnoreCase))
        || (StatusCode is 429 && Message.Contains("insufficient_quota", StringComparison.OrdinalIgnoreCase));
}

/// <summary>The provider answered HTTP 429 ("slow down"), with the wait it asked for, if any.</summary>
public sealed class LlmRateLimitedException(string message, TimeSpan? retryAfter) : LlmException(message, 429)
{
    /// <summary>From <c>retry-after-ms</c> or <c>Retry-After</c> (seconds or a date); null when the response named none.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>Neither <c>llm_api_key</c> nor <c>llm_base_url</c> is set.</summary>
public sealed class LlmNotConfiguredException()
    : LlmException("LLM is not configured: set llm_api_key (env MEMOBASE_LLM_API_KEY) and optionally llm_base_url (env MEMOBASE_LLM_BASE_URL)",
        cause: "configuration")
{
    public override bool IsConfigurationError => true;
}

/// <summary>
/// OpenAI-compatible <c>POST {llm_base_url}/chat/completions</c> client: one system and one user message, the configured
/// temperature and <c>max_tokens</c>, no JSON mode. Every call first gets a slot and its budget from
/// <see cref="LlmThrottle"/>. Each attempt has its own timeout (<c>llm_timeout_seconds</c>); 408/5xx responses,
/// connection errors and attempt timeouts are retried <c>llm_max_retries</c> times with exponential backoff and jitter.
/// A 429 is not an error of the call: the throttle lowers its limit, and the call, keeping its slot, is sent again after
/// the Retry-After (else an exponential backoff), for up to <c>llm_rate_limit_max_wait_seconds</c> in all; past
/// that it throws <see cref="LlmRateLimitedException"/> so the job can be handed back without spending an attempt.
/// Other statuses and unreadable bodies fail at once. Thread-safe; register as a singleton (it creates a named <see cref="HttpClient"/> per call).
/// Prompts and completions are only logged at Debug level.
/// </summary>
public sealed partial class LlmClient
{
    /// <summary>Name of the <see cref="HttpClient"/> registered for LLM calls.</summary>
    public const string HttpClientName = "Memobase.Llm";

    private readonly IHttpClientFactory _httpClients;
    private readonly LlmOptions _options;
    private readonly ILogger<LlmClient> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly LlmThrottle _throttle;
    private readonly LlmBudget _budget;

    public LlmClient(IHttpClientFactory httpClients, IOptions<LlmOptions> options, LlmThrottle throttle, LlmBudget budget, ILogger<LlmClient> logger)
    {
        _httpClients = httpClients;
        _options = options.Value;
        _throttle = throttle;
        _budget = budget;
        _logger = logger;
        _pipeline = LlmHttp.BuildPipeline(_options, logger, "chat");
    }

    /// <summary>See <see cref="LlmOptions.IsConfigured"/>.</summary>
    public bool IsConfigured => _options.IsConfigured;

    /// <summary><c>best_llm_model</c>: extraction, merge, organize, event tagging.</summary>
    public string BestModel => _options.BestLlmModel;

    /// <summary><c>summary_llm_model</c> or the best model: entry summary, re-summary, profile filtering.</summary>
    public string SummaryModel => _options.EffectiveSummaryModel;

    /// <summary>Runs one chat completion (<paramref name="maxTokens"/>: instead of <c>llm_max_tokens</c>).</summary>
    /// <exception cref="LlmNotConfiguredException">No API key and no base URL are configured.</exception>
    /// <exception cref="LlmException">The request failed after retries, or the response was unusable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<LlmCompletion> CompleteAsync(string model, string systemPrompt, string userPrompt, CancellationToken ct, int? maxTokens = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(systemPrompt);
        ArgumentNullException.ThrowIfNull(userPrompt);
        if (!_options.IsConfigured)
        {
            throw new LlmNotConfiguredException();
        }

        var maxCompletion = maxTokens ?? _options.LlmMaxTokens;
        var body = BuildBody(model, systemPrompt, userPrompt, maxCompletion);
        var url = LlmHttp.BuildUrl(_options.EffectiveBaseUrl, "/chat/completions", _options.LlmOpenAiDefaultQuery);
        LogRequestDebug(_logger, model, systemPrompt, userPrompt);
        var estimate = _budget.Estimate(systemPrompt, userPrompt, maxCompletion);
        using var slot = await _throttle.AcquireAsync(estimate, ct);
        using var telemetry = LlmCallTelemetry.Start(LlmCallTelemetry.Chat, model, _options.EffectiveBaseUrl);
        try
        {
            byte[] payload;
            var rateLimitedFor = TimeSpan.Zero;
            for (var rateLimits = 0; ; rateLimits++)
            {
                try
                {
                    payload = await LlmHttp.SendAsync(_httpClients.CreateClient(HttpClientName), _pipeline, url, body, _options.LlmApiKey,
                        _options.LlmOpenAiDefaultHeader, _options.LlmTimeoutSeconds, "LLM", ct);
                    break;
                }
                catch (LlmRateLimitedException ex) when (!ex.IsConfigurationError)
                {
                    // Not the call's fault. The call keeps its slot while it waits: a slot freed by a 429 (answered at once)
                    // would let the next call collect another 429 at once, many per slot and second.
                    _throttle.RateLimited(ex.RetryAfter);
                    var wait = ex.RetryAfter ?? TimeSpan.FromMilliseconds(Math.Min(30_000, Math.Max(100, _options.LlmRetryBaseDelayMs) * Math.Pow(2, rateLimits)));
                    MemobaseTelemetry.LlmRetries.Add(1, new KeyValuePair<string, object?>("project_id", LlmCallContext.ProjectId),
                        new KeyValuePair<string, object?>("kind", "chat"), new KeyValuePair<string, object?>("cause", "http_429"));
                    if (rateLimitedFor + wait > TimeSpan.FromSeconds(_options.LlmRateLimitMaxWaitSeconds))
                    {
                        throw new LlmRateLimitedException(
                            $"LLM rate limited: HTTP 429 for {rateLimitedFor.TotalSeconds:0} s (llm_rate_limit_max_wait_seconds); {ex.Message}", wait);
                    }
                    rateLimitedFor += wait;
                    LogRateLimited(_logger, (int)wait.TotalMilliseconds);
                    await Task.Delay(wait, ct);
                    await _throttle.ReserveBudgetAsync(estimate, ct);
                }
            }
            _throttle.Succeeded();
            var elapsed = telemetry.ElapsedMs;

            var (text, promptTokens, completionTokens, responseModel) = ParseCompletion(payload);
            promptTokens ??= O200kTokenizer.Instance.CountTokens(systemPrompt) + O200kTokenizer.Instance.CountTokens(userPrompt);
            completionTokens ??= O200kTokenizer.Instance.CountTokens(text);
            telemetry.Succeeded(promptTokens.Value, completionTokens.Value, responseModel);
            await _budget.CorrectAsync(estimate, promptTokens.Value, completionTokens.Value);
            LogCompleted(_logger, model, promptTokens.Value, completionTokens.Value, elapsed);
            LogCompletionDebug(_logger, model, text);
            return new LlmCompletion(text, promptTokens.Value, completionTokens.Value, elapsed);
        }
        catch (Exception ex)
        {
            telemetry.Failed(ex);
            throw;
        }
    }

    private byte[] BuildBody(string model, string systemPrompt, string userPrompt, int maxTokens)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteStartArray("messages");
            w.WriteStartObject();
            w.WriteString("role", "system");
            w.WriteString("content", systemPrompt);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteString("content", userPrompt);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteNumber("temperature", _options.LlmTemperature);
            w.WriteNumber("max_tokens", maxTokens);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static (string Text, int? PromptTokens, int? CompletionTokens, string? Model) ParseCompletion(byte[] payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new LlmException("LLM returned an unexpected response: not a JSON object");
            }
            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                throw new LlmException($"LLM returned an error: {LlmHttp.Snippet(error.GetRawText())}");
            }
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                throw new LlmException("LLM returned an unexpected response: no choices");
            }
            var first = choices[0];
            var text = "";
            if (first.ValueKind == JsonValueKind.Object && first.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                && message.TryGetProperty("content", out var content))
            {
                text = content.ValueKind switch
                {
                    JsonValueKind.String => ProviderJson.GetString(content),
                    JsonValueKind.Null => "",
                    // content parts: [{type: "text", text: "..."}]
                    JsonValueKind.Array => string.Concat(content.EnumerateArray()
                        .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                        .Select(p => ProviderJson.GetString(p.GetProperty("text")))),
                    _ => throw new LlmException("LLM returned an unexpected response: message content is not text"),
                };
            }
            else
            {
                throw new LlmException("LLM returned an unexpected response: no message in the first choice");
            }
            int? prompt = null, completion = null;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                if (usage.TryGetProperty("prompt_tokens", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var pv)) prompt = pv;
                if (usage.TryGetProperty("completion_tokens", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var cv)) completion = cv;
            }
            var responseModel = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return (text, prompt, completion, responseModel);
        }
        catch (JsonException ex)
        {
            throw new LlmException($"LLM returned invalid JSON: {ex.Message}", null, ex);
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "LLM {Model} completed: {PromptTokens} prompt + {CompletionTokens} completion tokens in {ElapsedMs} ms")]
    private static partial void LogCompleted(ILogger logger, string model, int promptTokens, int completionTokens, int elapsedMs);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "LLM answered HTTP 429; sending again in {DelayMs} ms (no attempt is spent)")]
    private static partial void LogRateLimited(ILogger logger, int delayMs);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug, Message = "LLM {Model} request. System prompt:\n{SystemPrompt}\nUser prompt:\n{UserPrompt}")]
    private static partial void LogRequestDebug(ILogger logger, string model, string systemPrompt, string userPrompt);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "LLM {Model} completion:\n{Completion}")]
    private static partial void LogCompletionDebug(ILogger logger, string model, string completion);
}

/// <summary>HTTP plumbing shared by the chat and embedding clients.</summary>
internal static partial class LlmHttp
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    internal static ResiliencePipeline<HttpResponseMessage> BuildPipeline(LlmOptions options, ILogger logger, string kind)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (options.LlmMaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.LlmMaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.LlmRetryBaseDelayMs),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => true,
                    // Chat 429s are waited out by the caller (LlmClient), outside the retry budget.
                    { Result: { } r } => IsRetryableStatus(r.StatusCode) && !(kind == "chat" && r.StatusCode == HttpStatusCode.TooManyRequests),
                    _ => false,
                }),
                DelayGenerator = args =>
                {
                    var retryAfter = args.Outcome.Result?.Headers.RetryAfter;
                    TimeSpan? delay = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
                    return ValueTask.FromResult(delay is { } d && d > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(d.Ticks, TimeSpan.FromSeconds(60).Ticks)) : (TimeSpan?)null);
                },
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
            });
        }
        builder.AddTimeout(TimeSpan.FromSeconds(options.LlmTimeoutSeconds));
        return builder.Build();
    }

    private static bool IsRetryableStatus(HttpStatusCode status) => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    internal static string BuildUrl(string baseUrl, string path, IReadOnlyDictionary<string, string> query)
    {
        var url = baseUrl.TrimEnd('/') + path;
        if (query.Count == 0) return url;
        var sb = new StringBuilder(url);
        var separator = url.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        foreach (var (key, value) in query)
        {
            sb.Append(separator).Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value ?? ""));
            separator = '&';
        }
        return sb.ToString();
    }

    /// <summary>POSTs <paramref name="body"/> through the resilience pipeline and returns the successful response body.</summary>
    internal static async Task<byte[]> SendAsync(HttpClient client, ResiliencePipeline<HttpResponseMessage> pipeline, string url, byte[] body,
        string? apiKey, IReadOnlyDictionary<string, string> headers, int timeoutSeconds, string what, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await pipeline.ExecuteAsync(async token =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url);
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = JsonContentType;
                request.Content = content;
                if (!string.IsNullOrWhiteSpace(apiKey))
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey.Trim());
                }
                foreach (var (name, value) in headers)
                {
                    request.Headers.Remove(name);
                    request.Headers.TryAddWithoutValidation(name, value);
                }
                // ResponseContentRead: the body is read inside the attempt, so the attempt timeout covers it.
                return await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, token);
            }, ct);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new LlmException($"{what} request timed out (no response within {timeoutSeconds} s)", null, ex, "timeout");
        }
        catch (HttpRequestException ex)
        {
            throw new LlmException($"{what} request failed: {ex.Message}", ex.StatusCode is { } s ? (int)s : null, ex, ex.StatusCode is null ? "connection" : null);
        }

        using (response)
        {
            var payload = await response.Content.ReadAsByteArrayAsync(ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                throw new LlmRateLimitedException($"{what} endpoint returned HTTP 429 {response.ReasonPhrase}: {Snippet(Encoding.UTF8.GetString(payload))}",
                    RetryAfter(response));
            }
            if (!response.IsSuccessStatusCode)
            {
                var code = (int)response.StatusCode;
                throw new LlmException($"{what} endpoint returned HTTP {code} {response.ReasonPhrase}: {Snippet(Encoding.UTF8.GetString(payload))}", code);
            }
            return payload;
        }
    }

    /// <summary>OpenAI's <c>retry-after-ms</c>, else the standard <c>Retry-After</c> (seconds or an HTTP date); null when absent.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is { } d ? (d > TimeSpan.Zero ? d : TimeSpan.Zero) : null;
    }

    internal static string Snippet(string text)
    {
        var oneLine = text.Replace('\n', ' ').Replace('\r', ' ').Trim();
        return oneLine.Length <= 300 ? oneLine : oneLine[..300] + "...";
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "{Kind} request attempt failed ({Reason}); retry {Retry}/{MaxRetries} in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, string kind, int retry, int maxRetries, string reason, int delayMs);
}
