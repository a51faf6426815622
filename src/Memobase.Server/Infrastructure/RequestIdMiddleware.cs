using System.Diagnostics;
using System.Globalization;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Gives every request its id (the caller's <c>X-Request-ID</c> when it is a safe token, else the trace id) as
/// <see cref="HttpContext.TraceIdentifier"/>, and answers it in <c>X-Request-ID</c> with the processing time in
/// <c>X-Process-Time</c> (seconds, as upstream). The log line itself is Serilog.AspNetCore's request logging.
/// </summary>
public sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string RequestIdHeader = "X-Request-ID";

    public Task InvokeAsync(HttpContext context)
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
        return next(context);
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
}
