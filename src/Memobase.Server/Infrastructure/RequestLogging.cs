using System.Diagnostics;
using System.Globalization;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// One log line per request (method, path without query string, status, duration, request id); exceptions are
/// answered by <see cref="ApiExceptionHandler"/> inside it. Query strings are never logged: they can carry chat contents (<c>chats_str</c>).
/// </summary>
public sealed partial class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public const string RequestIdHeader = "X-Request-ID";

    public async Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var requestId = RequestId(context);
        context.TraceIdentifier = requestId;
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[RequestIdHeader] = requestId;
            context.Response.Headers["X-Process-Time"] = Stopwatch.GetElapsedTime(start).TotalSeconds.ToString("0.######", CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        });

        try
        {
            await next(context);
        }
        finally
        {
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            LogRequest(logger, context.Request.Method, context.Request.Path, context.Response.StatusCode, ms, requestId);
        }
    }

    private static string RequestId(HttpContext context)
    {
        var given = context.Request.Headers[RequestIdHeader].ToString();
        if (given.Length is > 0 and <= 64 && given.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return given;
        }
        return Activity.Current?.TraceId.ToString() ?? Guid.NewGuid().ToString("N");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "HTTP {Method} {Path} responded {StatusCode} in {ElapsedMs:0.0} ms (request {RequestId})")]
    private static partial void LogRequest(ILogger logger, string method, PathString path, int statusCode, double elapsedMs, string requestId);

}
