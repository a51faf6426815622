namespace Memobase.Server.Infrastructure;

/// <summary>Response headers of our own (not upstream's).</summary>
public static class MemobaseHeaders
{
    /// <summary>The flush job that holds the request's buffer entries, on inserts and flushes that queued or joined one.</summary>
    public const string JobId = "X-Memobase-Job-Id";
}
