using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Memobase.Server.Content;

namespace Memobase.Server.Infrastructure;

/// <summary>The rule of a route value with a well-known name: checked wherever that name appears in a route.</summary>
public sealed record RouteIdRule(Func<string, bool> IsValid, Func<string, string, ValidationError> Error);

/// <summary>Route-id rules, declared once: the validation filter and the OpenAPI document both read them.</summary>
public static partial class RouteIds
{
    public static readonly string[] Uuid45 = ["user_id", "blob_id", "profile_id", "event_id"];
    public static readonly string[] BlobType = ["blob_type", "buffer_type"];
    public const string ProjectId = "project_id";

    /// <summary>A project id: 1–64 (the column's varchar(64)) letters, digits, '_' or '-', nothing after (<c>\z</c>, not <c>$</c>).</summary>
    public static bool IsProjectId(string? value) => value is not null && ProjectIdPattern().IsMatch(value);

    public static ValidationError InvalidProjectId(string where, string? value)
        => new([where, ProjectId], "Project id must be 1-64 characters of letters, digits, '_' or '-'", "string_pattern_mismatch", value);

    [GeneratedRegex(@"\A[A-Za-z0-9_-]{1,64}\z")]
    private static partial Regex ProjectIdPattern();

    public static readonly IReadOnlyDictionary<string, RouteIdRule> Rules = BuildRules();

    private static Dictionary<string, RouteIdRule> BuildRules()
    {
        var rules = new Dictionary<string, RouteIdRule>(StringComparer.Ordinal);
        foreach (var name in Uuid45)
        {
            rules[name] = new(v => Validation.TryParseUuid45(v, out _), (n, v) => Validation.InvalidUuid("path", n, v));
        }
        foreach (var name in BlobType)
        {
            rules[name] = new(BlobTypes.IsKnown, (n, v) => Validation.InvalidEnum("path", n, v, BlobTypes.All));
        }
        rules[ProjectId] = new(IsProjectId, (_, v) => InvalidProjectId("path", v));
        return rules;
    }
}

/// <summary>
/// Request validation declared by the handler's signature: every route and query parameter is checked against its
/// CLR type, its <see cref="RangeAttribute"/> and, for route values, <see cref="RouteIds"/>, before the handler runs,
/// answering upstream's HTTP 422 body directly. A body the framework could not bind (its syntax was already checked by
/// <see cref="RequestBodyGuard"/>) is deserialized again to name the field whose type is wrong.
/// </summary>
public static class RequestValidation
{
    /// <summary>Adds the validation filter to every endpoint of the group or endpoint.</summary>
    public static TBuilder WithRequestValidation<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilterFactory(Create);

    private enum Kind { Text, TextList, Integer, Long, Number, Boolean, Guid }

    private sealed record Check(string Name, Kind Kind, bool Required, RangeAttribute? Range);

    private static EndpointFilterDelegate Create(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var services = context.ApplicationServices.GetService<IServiceProviderIsService>();
        var checks = new List<Check>();
        Type? bodyType = null;
        foreach (var p in context.MethodInfo.GetParameters())
        {
            var type = Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType;
            var kind = KindOf(type);
            if (kind is null)
            {
                var special = type == typeof(CancellationToken) || type == typeof(HttpContext) || type == typeof(Caller)
                              || services?.IsService(p.ParameterType) == true;
                if (!special && type.IsClass || type == typeof(JsonElement)) bodyType ??= type;
                continue;
            }
            var required = !p.HasDefaultValue && Nullable.GetUnderlyingType(p.ParameterType) is null
                           && new NullabilityInfoContext().Create(p).WriteState != NullabilityState.Nullable;
            checks.Add(new Check(p.Name!, kind.Value, required, p.GetCustomAttribute<RangeAttribute>()));
        }
        var json = context.ApplicationServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

        // Not async: a valid request (nearly all of them) goes straight to the handler without a state machine.
        return invocation =>
        {
            var http = invocation.HttpContext;
            if (Validate(http.Request, checks) is { } errors) return ValueTask.FromResult<object?>(Validation.Problem(errors));
            if (http.Response.StatusCode == StatusCodes.Status400BadRequest) return BodyProblemAsync(http.Request, bodyType, json);
            return next(invocation);
        };
    }

    private static async ValueTask<object?> BodyProblemAsync(HttpRequest request, Type? bodyType, JsonSerializerOptions json)
        => Validation.Problem([await BodyErrorAsync(request, bodyType, json)]);

    private static Kind? KindOf(Type type) => type switch
    {
        _ when type == typeof(string) => Kind.Text,
        _ when type == typeof(string[]) => Kind.TextList,
        _ when type == typeof(int) => Kind.Integer,
        _ when type == typeof(long) => Kind.Long,
        _ when type == typeof(double) => Kind.Number,
        _ when type == typeof(bool) || type == typeof(Flag) => Kind.Boolean,
        _ when type == typeof(Guid) => Kind.Guid,
        _ => null,
    };

    /// <returns>The errors, or null when there are none.</returns>
    private static List<ValidationError>? Validate(HttpRequest request, List<Check> checks)
    {
        List<ValidationError>? errors = null;
        foreach (var check in checks)
        {
            if (request.RouteValues.TryGetValue(check.Name, out var routeValue))
            {
                var text = routeValue as string ?? "";
                if (RouteIds.Rules.TryGetValue(check.Name, out var rule))
                {
                    if (!rule.IsValid(text)) (errors ??= []).Add(rule.Error(check.Name, text));
                }
                else if (CheckValue(check, "path", text) is { } error)
                {
                    (errors ??= []).Add(error);
                }
                continue;
            }
            var values = request.Query[check.Name];
            if (values.Count == 0)
            {
                if (check.Required) (errors ??= []).Add(Validation.Missing("query", check.Name));
                continue;
            }
            if (check.Kind != Kind.TextList && values.Count > 1)
            {
                (errors ??= []).Add(new ValidationError(["query", check.Name], "Input should be a single value", "value_error"));
                continue;
            }
            foreach (var value in values)
            {
                if (CheckValue(check, "query", value ?? "") is { } error)
                {
                    (errors ??= []).Add(error);
                    break;
                }
            }
        }
        return errors;
    }

    private static ValidationError? CheckValue(Check check, string where, string text)
    {
        // The location list is built only for an error: valid values (nearly all) allocate nothing here.
        List<object> Loc() => [where, check.Name];
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            return new ValidationError(Loc(), "String contains a NUL character (\\u0000)", "string_unicode", text.Replace("\0", "", StringComparison.Ordinal));
        }
        double? number = null;
        switch (check.Kind)
        {
            case Kind.Integer or Kind.Long:
                if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                    || (check.Kind == Kind.Integer && l is < int.MinValue or > int.MaxValue))
                {
                    return new ValidationError(Loc(), "Input should be a valid integer, unable to parse string as an integer", "int_parsing", text);
                }
                number = l;
                break;
            case Kind.Number:
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                {
                    return new ValidationError(Loc(), "Input should be a valid number, unable to parse string as a number", "float_parsing", text);
                }
                if (!double.IsFinite(d)) return new ValidationError(Loc(), "Input should be a finite number", "finite_number", text);
                number = d;
                break;
            case Kind.Boolean when !Validation.TryParseBool(text, out _):
                return new ValidationError(Loc(), "Input should be a valid boolean, unable to interpret input", "bool_parsing", text);
            case Kind.Guid when !Guid.TryParse(text, out _):
                return new ValidationError(Loc(), "Input should be a valid UUID", "uuid_parsing", text);
        }
        if (number is { } n && check.Range is { } range)
        {
            var min = Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture);
            var max = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
            if (n < min) return new ValidationError(Loc(), $"Input should be greater than or equal to {range.Minimum}", "greater_than_equal", text);
            if (n > max) return new ValidationError(Loc(), $"Input should be less than or equal to {range.Maximum}", "less_than_equal", text);
        }
        return null;
    }

    /// <summary>The body bound badly: deserialize the (already syntax-checked, buffered) body again to find the field.</summary>
    internal static async Task<ValidationError> BodyErrorAsync(HttpRequest request, Type? bodyType, JsonSerializerOptions json)
    {
        if (bodyType is null || !request.Body.CanSeek) return new ValidationError(["body"], "Invalid request", "value_error");
        request.Body.Position = 0;
        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, bodyType, json, request.HttpContext.RequestAborted);
            return value is null
                ? new ValidationError(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type")
                : new ValidationError(["body"], "Invalid request", "value_error");
        }
        catch (JsonException ex)
        {
            var loc = JsonPathLoc(ex.Path);
            var (msg, type) = ExpectedAt(bodyType, loc, json);
            return new ValidationError(loc, msg, type);
        }
    }

    /// <summary><c>$.messages[0]['content']</c> → <c>["body", "messages", 0, "content"]</c>.</summary>
    internal static List<object> JsonPathLoc(string? path)
    {
        var loc = new List<object> { "body" };
        var i = path is ['$', ..] ? 1 : 0;
        while (path is not null && i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                if (end < 0) end = path.Length;
                loc.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path[i] == '[' && i + 1 < path.Length && path[i + 1] == '\'')
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) break;
                loc.Add(path[(i + 2)..end]);
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i + 1);
                if (end < 0 || !int.TryParse(path.AsSpan(i + 1, end - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index)) break;
                loc.Add(index);
                i = end + 1;
            }
            else
            {
                break;
            }
        }
        return loc;
    }

    /// <summary>What the body type declares at <paramref name="loc"/>, as pydantic phrases it.</summary>
    private static (string Msg, string Type) ExpectedAt(Type type, List<object> loc, JsonSerializerOptions json)
    {
        foreach (var segment in loc.Skip(1))
        {
            if (segment is string name)
            {
                var property = json.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == name);
                if (property is null) break;
                type = property.PropertyType;
            }
            else if (type.IsArray)
            {
                type = type.GetElementType()!;
            }
            else if (type.IsGenericType && type.GetGenericArguments() is [var item])
            {
                type = item;
            }
        }
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => ("Input should be a valid string", "string_type"),
            _ when type == typeof(int) || type == typeof(long) => ("Input should be a valid integer", "int_type"),
            _ when type == typeof(double) || type == typeof(float) => ("Input should be a valid number", "float_type"),
            _ when type == typeof(bool) => ("Input should be a valid boolean", "bool_type"),
            _ when type == typeof(DateTime) || type == typeof(DateTimeOffset) => ("Input should be a valid datetime", "datetime_type"),
            _ when type == typeof(Guid) => ("Input should be a valid UUID", "uuid_type"),
            _ when type != typeof(string) && type.IsAssignableTo(typeof(System.Collections.IEnumerable)) => ("Input should be a valid list", "list_type"),
            _ => ("Input should be a valid dictionary or object to extract fields from", "model_attributes_type"),
        };
    }
}
