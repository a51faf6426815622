namespace Memobase.Server.Infrastructure;

/// <summary>
/// Request limits (README "Limits"). Bodies are read whole by <see cref="RequestBodyGuard"/> before binding, so none of
/// these can be exceeded by a request that reaches a handler.
/// </summary>
public static class RequestLimits
{
    /// <summary>JSON body of an endpoint without its own limit.</summary>
    public const int DefaultBodyBytes = 1024 * 1024;

    /// <summary>Deepest nesting of JSON objects and arrays in a body.</summary>
    public const int MaxJsonDepth = 64;

    /// <summary>Most elements of one JSON array in a body.</summary>
    public const int MaxJsonArrayItems = 10_000;

    /// <summary>Request line (method, path and query string), checked before routing; Kestrel's own limit is twice this.</summary>
    public const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>All request headers together; Kestrel's own limit is twice this.</summary>
    public const int MaxRequestHeaderBytes = 32 * 1024;

    /// <summary>Largest body limit of any endpoint: Kestrel rejects anything larger before it is read.</summary>
    public const int MaxBodyBytes = 8 * 1024 * 1024;

    /// <summary>Declares the largest JSON body this endpoint accepts (default <see cref="DefaultBodyBytes"/>).</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, int bytes) where TBuilder : IEndpointConventionBuilder
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, MaxBodyBytes);
        return builder.WithMetadata(new BodyLimitMetadata(bytes));
    }
}

/// <summary>The body size limit of an endpoint, in bytes.</summary>
public sealed record BodyLimitMetadata(int Bytes);

/// <summary>
/// Answers an over-long request line (HTTP 414) or header block (HTTP 431) with the envelope. Kestrel's own limits are
/// set to twice these, so only requests beyond those get Kestrel's bare response.
/// </summary>
public sealed class RequestSizeGuard(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var line = request.Method.Length + request.Path.Value?.Length + request.PathBase.Value?.Length + request.QueryString.Value?.Length;
        if (line > RequestLimits.MaxRequestLineBytes)
        {
            return ErrorResponses.WriteAsync(context, StatusCodes.Status414UriTooLong,
                $"Request line longer than {RequestLimits.MaxRequestLineBytes} bytes");
        }
        var headers = 0L;
        foreach (var (name, values) in request.Headers)
        {
            headers += name.Length;
            foreach (var value in values) headers += value?.Length ?? 0;
        }
        if (headers > RequestLimits.MaxRequestHeaderBytes)
        {
            return ErrorResponses.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                $"Request headers larger than {RequestLimits.MaxRequestHeaderBytes} bytes");
        }
        return next(context);
    }
}
