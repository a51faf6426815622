using Memobase.Server.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Memobase.Server.Telemetry;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Memobase.Server.Llm;

/// <summary>One chat completion: the text and what it cost.</summary>
/// <param name="Text">The assistant message content ("" when the model returned none).</param>
/// <param name="PromptTokens">From the response's reported usage, else o200k tokens of system + user prompt.</param>
/// <param name="CompletionTokens">From the reported usage, else o200k tokens of <paramref name="Text"/>.</param>
/// <param name="ElapsedMs">Wall time of the call, retries included.</param>
public sealed record LlmCompletion(string Text, int PromptTokens, int CompletionTokens, int ElapsedMs);

/// <summary>
/// The pipeline's chat completions: one system and one user message, the configured temperature and output limit, no
/// JSON mode, sent through the registered <see cref="IChatClient"/> (by default <see cref="OpenAiCompatibleProvider"/>:
/// OpenAI-compatible <c>POST {llm_base_url}/chat/completions</c> on the <see cref="HttpClientName"/> client, whose
/// resilience handler times each attempt out and retries 408/5xx, see <see cref="LlmResilience"/>). Every call first
/// gets a slot and its budget from <see cref="LlmThrottle"/>. A 429 is not an error of the call: the throttle lowers its
/// limit, and the call, keeping its slot, is sent again after the Retry-After (else an exponential backoff), for up to
/// <c>llm_rate_limit_max_wait_seconds</c> in all; past that it throws <see cref="LlmRateLimitedException"/> so the job
/// can be handed back without spending an attempt. Other failures become <see cref="LlmException"/> (<see cref="ProviderErrors"/>).
/// Usage and timing go to <see cref="LlmCallTelemetry"/> and correct the budget. Thread-safe singleton. Prompts and
/// completions are only logged at Debug level.
/// </summary>
public sealed partial class LlmClient
{
    /// <summary>Name of the <see cref="HttpClient"/> registered for LLM calls.</summary>
    public const string HttpClientName = "Memobase.Llm";

    private readonly IChatClient _chat;
    private readonly LlmOptions _options;
    private readonly ILogger<LlmClient> _logger;
    private readonly LlmThrottle _throttle;
    private readonly LlmBudget _budget;

    public LlmClient(IChatClient chat, IOptions<LlmOptions> options, LlmThrottle throttle, LlmBudget budget, ILogger<LlmClient> logger)
    {
        _chat = chat;
        _options = options.Value;
        _throttle = throttle;
        _budget = budget;
        _logger = logger;
        IsConfigured = _options.IsConfigured || chat.GetService(typeof(OpenAI.Chat.ChatClient)) is null;
    }

    /// <summary>
    /// True when an API key or a base URL is set (<see cref="LlmOptions.IsConfigured"/>), or when the registered
    /// <see cref="IChatClient"/> is a deployment's own provider, not built on the OpenAI SDK's client.
    /// </summary>
    public bool IsConfigured { get; }

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
        if (!IsConfigured)
        {
            throw new LlmNotConfiguredException();
        }

        var maxCompletion = maxTokens ?? _options.LlmMaxTokens;
        AiChatMessage[] messages = [new(ChatRole.System, systemPrompt), new(ChatRole.User, userPrompt)];
        var chatOptions = new ChatOptions { ModelId = model, Temperature = (float)_options.LlmTemperature, MaxOutputTokens = maxCompletion };
        LogRequestDebug(_logger, model, systemPrompt, userPrompt);
        var estimate = _budget.Estimate(systemPrompt, userPrompt, maxCompletion);
        using var slot = await _throttle.AcquireAsync(estimate, ct);
        using var telemetry = LlmCallTelemetry.Start(LlmCallTelemetry.Chat, model, _options.EffectiveBaseUrl);
        try
        {
            ChatResponse response;
            var rateLimitedFor = TimeSpan.Zero;
            for (var rateLimits = 0; ; rateLimits++)
            {
                try
                {
                    response = await SendAsync(messages, chatOptions, ct);
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

            var text = response.Text ?? "";
            var promptTokens = ToInt(response.Usage?.InputTokenCount)
                ?? O200kTokenizer.Instance.CountTokens(systemPrompt) + O200kTokenizer.Instance.CountTokens(userPrompt);
            var completionTokens = ToInt(response.Usage?.OutputTokenCount) ?? O200kTokenizer.Instance.CountTokens(text);
            telemetry.Succeeded(promptTokens, completionTokens, response.ModelId);
            await _budget.CorrectAsync(estimate, promptTokens, completionTokens);
            LogCompleted(_logger, model, promptTokens, completionTokens, elapsed);
            LogCompletionDebug(_logger, model, text);
            return new LlmCompletion(text, promptTokens, completionTokens, elapsed);
        }
        catch (Exception ex)
        {
            telemetry.Failed(ex);
            throw;
        }
    }

    private async Task<ChatResponse> SendAsync(AiChatMessage[] messages, ChatOptions options, CancellationToken ct)
    {
        try
        {
            return await _chat.GetResponseAsync(messages, options, ct);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            throw ProviderErrors.Map(ex, "LLM", _options.LlmTimeoutSeconds);
        }
    }

    private static int? ToInt(long? value) => value is { } v and >= 0 and <= int.MaxValue ? (int)v : null;

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "LLM {Model} completed: {PromptTokens} prompt + {CompletionTokens} completion tokens in {ElapsedMs} ms")]
    private static partial void LogCompleted(ILogger logger, string model, int promptTokens, int completionTokens, int elapsedMs);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "LLM answered HTTP 429; sending again in {DelayMs} ms (no attempt is spent)")]
    private static partial void LogRateLimited(ILogger logger, int delayMs);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug, Message = "LLM {Model} request. System prompt:\n{SystemPrompt}\nUser prompt:\n{UserPrompt}")]
    private static partial void LogRequestDebug(ILogger logger, string model, string systemPrompt, string userPrompt);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "LLM {Model} completion:\n{Completion}")]
    private static partial void LogCompletionDebug(ILogger logger, string model, string completion);
}
