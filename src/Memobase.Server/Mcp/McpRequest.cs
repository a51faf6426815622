using Memobase.Server.Infrastructure;

namespace Memobase.Server.Mcp;

/// <summary>Who is calling an MCP tool, and for which user.</summary>
public static class McpRequest
{
    /// <summary>Optional request header naming the user that tools act on when a call gives no <c>user_id</c>.</summary>
    public const string DefaultUserHeader = "X-Memobase-User-Id";

    /// <summary>The authenticated caller (the bearer principal of the request), as REST handlers bind it.</summary>
    public static Caller? Caller(HttpContext? http) => http is null ? null : Infrastructure.Caller.From(http.User);

    /// <summary>The tool's <c>user_id</c> argument, else the <see cref="DefaultUserHeader"/>; validated as the REST API validates path ids.</summary>
    public static (Guid UserId, string? Error) UserId(HttpContext? http, string? argument)
    {
        if (!string.IsNullOrWhiteSpace(argument))
        {
            return Validation.TryParseUuid45(argument.Trim(), out var id) ? (id, null) : (Guid.Empty, "user_id: Input should be a valid UUID version 4 or 5");
        }
        var header = http?.Request.Headers[DefaultUserHeader].ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return (Guid.Empty, $"user_id: Field required (no {DefaultUserHeader} header pins a default user for this connection)");
        }
        return Validation.TryParseUuid45(header.Trim(), out var pinned)
            ? (pinned, null)
            : (Guid.Empty, $"{DefaultUserHeader}: Input should be a valid UUID version 4 or 5");
    }

    public static bool HasDefaultUser(HttpContext? http) => !string.IsNullOrWhiteSpace(http?.Request.Headers[DefaultUserHeader].ToString());
}
