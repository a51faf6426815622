using System.ClientModel;
using System.Text.Json;
using Polly.Timeout;

namespace Memobase.Server.Llm;

/// <summary>
/// Turns what a chat client or embedding generator threw (the OpenAI SDK's <see cref="ClientResultException"/>, the
/// resilience handler's <see cref="TimeoutRejectedException"/>, <see cref="HttpRequestException"/>, a JSON error) into
/// the <see cref="LlmException"/> the pipeline understands: a 429 becomes <see cref="LlmRateLimitedException"/> with
/// the response's Retry-After, 401/403/404 keep their status (configuration errors, no job retry).
/// </summary>
internal static class ProviderErrors
{
    /// <param name="what">"LLM" or "Embedding": how messages name the request.</param>
    /// <param name="timeoutSeconds">The attempt timeout, for the timeout message.</param>
    public static LlmException Map(Exception error, string what, int timeoutSeconds)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case LlmException llm:
                    return llm;
                case TimeoutRejectedException or OperationCanceledException:
                    return new LlmException($"{what} request timed out (no response within {timeoutSeconds} s)", null, error, "timeout");
                case ClientResultException { Status: > 0 } result:
                    return FromStatus(what, result.Status, result.GetRawResponse()?.ReasonPhrase, ResponseText(result),
                        result.GetRawResponse() is { } r ? LlmResilience.RetryAfter(Header(r, "retry-after-ms"), Header(r, "Retry-After")) : null, error);
                case HttpRequestException { StatusCode: { } status } http:
                    return FromStatus(what, (int)status, null, http.Message, null, error);
                case HttpRequestException http:
                    return new LlmException($"{what} request failed: {http.Message}", null, error, "connection");
                case JsonException json:
                    return new LlmException($"{what} returned invalid JSON: {json.Message}", null, error);
            }
        }
        return new LlmException($"{what} returned an unexpected response: {error.Message}", null, error);
    }

    private static LlmException FromStatus(string what, int status, string? reason, string body, TimeSpan? retryAfter, Exception error)
    {
        var message = $"{what} endpoint returned HTTP {status} {reason}: {Snippet(body)}";
        return status == 429 ? new LlmRateLimitedException(message, retryAfter) : new LlmException(message, status, error);
    }

    private static string ResponseText(ClientResultException error)
    {
        try
        {
            return error.GetRawResponse()?.Content?.ToString() ?? error.Message;
        }
        catch (InvalidOperationException)
        {
            return error.Message; // the body was not buffered
        }
    }

    private static string? Header(System.ClientModel.Primitives.PipelineResponse response, string name)
        => response.Headers.TryGetValue(name, out var value) ? value : null;

    internal static string Snippet(string text)
    {
        var oneLine = text.Replace('\n', ' ').Replace('\r', ' ').Trim();
        return oneLine.Length <= 300 ? oneLine : oneLine[..300] + "...";
    }
}
