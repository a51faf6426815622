using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Infrastructure;

/// <summary>FastAPI's request-validation body: <c>{"detail":[{"loc":[…],"msg":"…","type":"…"}]}</c> with HTTP 422.</summary>
public sealed record HttpValidationError(IReadOnlyList<ValidationError> Detail);

public sealed record ValidationError(
    IReadOnlyList<object> Loc,
    string Msg,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Input = null);

public static class Validation
{
    public static UnprocessableEntity<HttpValidationError> Problem(IReadOnlyList<object> loc, string msg, string type, object? input = null)
        => TypedResults.UnprocessableEntity(new HttpValidationError([new ValidationError(loc, msg, type, input)]));

    public static UnprocessableEntity<HttpValidationError> Problem(IReadOnlyList<ValidationError> errors)
        => TypedResults.UnprocessableEntity(new HttpValidationError(errors));

    public static ValidationError InvalidUuid(string where, string name, string? input) =>
        new([where, name], "Input should be a valid UUID version 4 or 5", "uuid_version", input);

    public static ValidationError InvalidEnum(string where, string name, string? input, IEnumerable<string> allowed) =>
        new([where, name], $"Input should be {string.Join(", ", allowed.Select(a => $"'{a}'"))}", "enum", input);

    public static ValidationError Missing(params object[] loc) => new(loc, "Field required", "missing");

    /// <summary>Upstream types ids as <c>UUID4 | UUID5</c>: other versions (v1, v7, nil) are rejected.</summary>
    public static bool TryParseUuid45(string? text, out Guid id)
    {
        if (!Guid.TryParse(text, out id)) return false;
        var version = id.Version;
        return version is 4 or 5;
    }

    /// <summary>Lenient booleans, as FastAPI/pydantic parse them: true/false/1/0/yes/no/on/off, any case.</summary>
    public static bool TryParseBool(string? text, out bool value)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "true" or "1" or "yes" or "on" or "t" or "y": value = true; return true;
            case "false" or "0" or "no" or "off" or "f" or "n": value = false; return true;
            default: value = false; return false;
        }
    }
}
