using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Turns every exception a request throws into a response without internals: database unavailable → HTTP 503 with
/// errno 503 and <c>Retry-After</c>; a malformed request the framework rejects (body too large, unreadable body) → its
/// HTTP status with the envelope; a value PostgreSQL refuses to store (SQLSTATE class 22, "data exception": out of
/// range, invalid text, untranslatable character) that got past validation → HTTP 422 naming the request part, so
/// input never yields errno 500; anything else → HTTP 200 with errno 500 and the request id (upstream's convention),
/// the exception itself only in the log under that id.
/// </summary>
public sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public const string DatabaseUnavailableMessage = "The database is unavailable; retry later";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var requestId = httpContext.TraceIdentifier;
        var request = httpContext.Request;
        if (exception is BadHttpRequestException bad)
        {
            LogRejected(logger, request.Method, request.Path, bad.StatusCode, requestId, bad.Message);
            await ErrorResponses.WriteAsync(httpContext, bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "Request body too large" : ErrorResponses.Reason(bad.StatusCode));
            return true;
        }
        if (IsDatabaseUnavailable(exception))
        {
            LogDatabaseUnavailable(logger, exception, request.Method, request.Path, requestId);
            httpContext.Response.Headers.RetryAfter = "1";
            await ErrorResponses.WriteAsync(httpContext, StatusCodes.Status503ServiceUnavailable,
                $"{DatabaseUnavailableMessage} (request id {requestId})");
            return true;
        }
        if (IsDataException(exception, out var sqlState))
        {
            LogDataException(logger, exception, request.Method, request.Path, sqlState, requestId);
            object part = request.ContentLength > 0 || request.Headers.ContentType.Count > 0 ? "body" : "query";
            await Validation.Problem([part],
                    $"A value in the request cannot be stored: it is out of range or not valid for its field (request id {requestId})",
                    "value_error")
                .ExecuteAsync(httpContext);
            return true;
        }
        LogUnhandled(logger, exception, request.Method, request.Path, requestId);
        await WriteUnknownErrorAsync(httpContext);
        return true;
    }

    /// <summary>Upstream answers unhandled errors with HTTP 200 + errno 500; the request id finds the details in the log.</summary>
    public static Task WriteUnknownErrorAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        return context.Response.WriteAsJsonAsync(new ApiResponse<object>(null, Errno.InternalServerError,
            $"Sorry, we have encountered an unknown error (request id {context.TraceIdentifier}). The server log has the details."),
            context.RequestAborted);
    }

    /// <summary>PostgreSQL cannot be reached, is shutting down or starting, or refuses connections.</summary>
    public static bool IsDatabaseUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                           || pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                               or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections;
                case NpgsqlException npgsql when npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException:
                    return true;
            }
        }
        return false;
    }

    /// <summary>PostgreSQL rejected a value (SQLSTATE class 22) — the request carried it, so it is the client's to fix.</summary>
    public static bool IsDataException(Exception exception, out string sqlState)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg && pg.SqlState.StartsWith("22", StringComparison.Ordinal))
            {
                sqlState = pg.SqlState;
                return true;
            }
        }
        sqlState = "";
        return false;
    }

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Database refused a value for {Method} {Path} (SQLSTATE {SqlState}, request {RequestId})")]
    private static partial void LogDataException(ILogger logger, Exception ex, string method, PathString path, string sqlState, string requestId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path} (request {RequestId})")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, string method, PathString path, string requestId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Database unavailable for {Method} {Path} (request {RequestId})")]
    private static partial void LogDatabaseUnavailable(ILogger logger, Exception ex, string method, PathString path, string requestId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Rejected {Method} {Path} with {StatusCode} (request {RequestId}): {Reason}")]
    private static partial void LogRejected(ILogger logger, string method, PathString path, int statusCode, string requestId, string reason);
}

/// <summary>The envelope for HTTP errors that have no body of their own (404, 405, 413, 415, …).</summary>
public static class ErrorResponses
{
    public static string Reason(int statusCode) => ReasonPhrases.GetReasonPhrase(statusCode) is { Length: > 0 } r ? r : "Error";

    public static Task WriteAsync(HttpContext context, int statusCode, string message)
    {
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(new ApiResponse<object>(null, statusCode, message), context.RequestAborted);
    }

    /// <summary>Status-code page: an empty 4xx/5xx response gets the envelope with the status as errno.</summary>
    public static Task WriteStatusPage(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var message = status switch
        {
            StatusCodes.Status404NotFound => $"Not found: {http.Request.Method} {http.Request.Path}",
            StatusCodes.Status405MethodNotAllowed => $"Method {http.Request.Method} is not allowed on {http.Request.Path}",
            _ => Reason(status),
        };
        return WriteAsync(http, status, message);
    }
}
