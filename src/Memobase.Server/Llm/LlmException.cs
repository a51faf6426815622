namespace Memobase.Server.Llm;

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
