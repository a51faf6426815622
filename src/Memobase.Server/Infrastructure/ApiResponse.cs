using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Infrastructure;

/// <summary>Memobase's response envelope: <c>{"data": …, "errno": 0, "errmsg": ""}</c>, keys always present, in this order.</summary>
public sealed record ApiResponse<T>(T? Data, int Errno, string Errmsg);

/// <summary>
/// Memobase's <c>CODE</c> values used in <c>errno</c>. HTTP errors without a body of their own (413, 414, 415, 429, 431)
/// carry their HTTP status as <c>errno</c> (<see cref="ErrorResponses"/>).
/// </summary>
public static class Errno
{
    public const int Success = 0;
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int Forbidden = 403;
    public const int NotFound = 404;
    public const int MethodNotAllowed = 405;
    public const int Conflict = 409;
    public const int UnprocessableEntity = 422;
    public const int InternalServerError = 500;
    public const int NotImplemented = 501;
    public const int BadGateway = 502;
    public const int ServiceUnavailable = 503;
    public const int GatewayTimeout = 504;
    public const int ServerParseError = 520;
}

/// <summary>Shorthands for envelope results. Business errors are HTTP 200 with errno ≠ 0, as upstream.</summary>
public static class Api
{
    public static Ok<ApiResponse<T>> Ok<T>(T data) => TypedResults.Ok(new ApiResponse<T>(data, Errno.Success, ""));

    public static Ok<ApiResponse<T>> Fail<T>(int errno, string message) => TypedResults.Ok(new ApiResponse<T>(default, errno, message));

    public static Ok<ApiResponse<T>> Fail<T>(Failure failure) => Fail<T>(failure.Errno, failure.Message);

    /// <summary>For endpoints whose success payload is <c>null</c>.</summary>
    public static Ok<ApiResponse<object>> Done() => TypedResults.Ok(new ApiResponse<object>(null, Errno.Success, ""));
}

/// <summary>A business error to be reported in the envelope.</summary>
public sealed record Failure(int Errno, string Message)
{
    public static Failure NotFound(string message) => new(Infrastructure.Errno.NotFound, message);
    public static Failure BadRequest(string message) => new(Infrastructure.Errno.BadRequest, message);

    /// <summary>The answer to any operation on a user the project does not have.</summary>
    public static Failure UserNotFound(Guid userId) => NotFound($"User {userId} not found");
}
