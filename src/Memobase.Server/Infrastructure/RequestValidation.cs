using System.Text.Json;
using System.Text.RegularExpressions;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Produces upstream's HTTP 422 bodies for the two kinds of failure that happen before a handler runs:
/// <list type="bullet">
/// <item>route values with a well-known name that are not valid (ids must be UUID v4/v5, types must be a BlobType);</item>
/// <item>ASP.NET Core binding failures (wrong query value type, unreadable JSON body), which arrive as
///   <see cref="BadHttpRequestException"/> because <c>RouteHandlerOptions.ThrowOnBadRequest</c> is on.</item>
/// </list>
/// </summary>
public sealed partial class RequestValidationMiddleware(RequestDelegate next)
{
    private static readonly string[] UuidRouteValues = ["user_id", "blob_id", "profile_id", "event_id"];
    private static readonly string[] BlobTypeRouteValues = ["blob_type", "buffer_type"];

    public async Task InvokeAsync(HttpContext context)
    {
        var errors = ValidateRouteValues(context.Request.RouteValues);
        if (errors.Count > 0)
        {
            await Validation.Problem(errors).ExecuteAsync(context);
            return;
        }
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted && ex.StatusCode == StatusCodes.Status400BadRequest)
        {
            await Validation.Problem(FromBindingFailure(ex, context)).ExecuteAsync(context);
        }
    }

    private static List<ValidationError> ValidateRouteValues(RouteValueDictionary values)
    {
        var errors = new List<ValidationError>();
        foreach (var name in UuidRouteValues)
        {
            if (values.TryGetValue(name, out var raw) && !Validation.TryParseUuid45(raw as string, out _))
            {
                errors.Add(Validation.InvalidUuid("path", name, raw as string));
            }
        }
        foreach (var name in BlobTypeRouteValues)
        {
            if (values.TryGetValue(name, out var raw) && !BlobTypes.IsKnown(raw as string))
            {
                errors.Add(Validation.InvalidEnum("path", name, raw as string, BlobTypes.All));
            }
        }
        return errors;
    }

    internal static List<ValidationError> FromBindingFailure(BadHttpRequestException ex, HttpContext context)
    {
        if (ex.InnerException is JsonException json)
        {
            return [new ValidationError(JsonPathToLoc(json.Path), "JSON decode error or invalid value: " + FirstLine(json.Message), "json_invalid")];
        }
        var match = ParameterPattern().Match(ex.Message);
        if (!match.Success)
        {
            return [new ValidationError(["body"], FirstLine(ex.Message), "value_error")];
        }
        var type = match.Groups["type"].Value.Replace("Nullable<", "", StringComparison.Ordinal).TrimEnd('>', '?');
        var name = match.Groups["name"].Value;
        var where = ex.Message.Contains("request body", StringComparison.Ordinal) || ex.Message.Contains("from body", StringComparison.Ordinal)
            ? "body"
            : context.Request.RouteValues.ContainsKey(name) ? "path" : "query";
        if (ex.Message.StartsWith("Required parameter", StringComparison.Ordinal))
        {
            return [Validation.Missing(where == "body" ? ["body"] : [where, name])];
        }
        var input = match.Groups["value"].Success ? match.Groups["value"].Value : null;
        var (msg, errType) = type switch
        {
            "int" or "Int32" or "long" or "Int64" => ("Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
            "double" or "Double" or "float" or "Single" => ("Input should be a valid number, unable to parse string as a number", "float_parsing"),
            "bool" or "Boolean" or "Flag" => ("Input should be a valid boolean, unable to interpret input", "bool_parsing"),
            "Guid" => ("Input should be a valid UUID", "uuid_parsing"),
            _ => ($"Input should be a valid {type}", "value_error"),
        };
        return [new ValidationError(where == "body" ? ["body"] : [where, name], msg, errType, input)];
    }

    private static List<object> JsonPathToLoc(string? path)
    {
        var loc = new List<object> { "body" };
        if (string.IsNullOrEmpty(path)) return loc;
        foreach (Match m in JsonPathSegment().Matches(path))
        {
            if (m.Groups["index"].Success) loc.Add(int.Parse(m.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture));
            else if (m.Groups["prop"].Success) loc.Add(m.Groups["prop"].Value);
            else if (m.Groups["quoted"].Success) loc.Add(m.Groups["quoted"].Value);
        }
        return loc;
    }

    private static string FirstLine(string message)
    {
        var i = message.IndexOfAny(['\r', '\n']);
        return i < 0 ? message : message[..i];
    }

    [GeneratedRegex("parameter \"(?<type>[^\"]+?) (?<name>[A-Za-z_0-9]+)\"(?: from \"(?<value>[^\"]*)\")?")]
    private static partial Regex ParameterPattern();

    [GeneratedRegex(@"\.(?<prop>[A-Za-z_0-9]+)|\[(?<index>\d+)\]|\['(?<quoted>[^']*)'\]")]
    private static partial Regex JsonPathSegment();
}

/// <summary>Upstream's BlobType enum (also used for buffer_type).</summary>
public static class BlobTypes
{
    public const string Chat = "chat";
    public const string Summary = "summary";
    public const string Doc = "doc";
    public const string Image = "image";
    public const string Code = "code";
    public const string Transcript = "transcript";
    public static readonly string[] All = [Chat, Summary, Doc, Image, Code, Transcript];
    /// <summary>Types the buffer pipeline turns into memory.</summary>
    public static readonly string[] Processable = [Chat, Summary];

    public static bool IsKnown(string? value) => value is not null && Array.IndexOf(All, value) >= 0;

    public static bool IsProcessable(string value) => Array.IndexOf(Processable, value) >= 0;
}
