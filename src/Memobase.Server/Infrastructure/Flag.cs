namespace Memobase.Server.Infrastructure;

/// <summary>
/// A query-string boolean parsed leniently (<c>true/false/True/False/1/0/yes/no/on/off</c>): the Python SDK sends
/// <c>True</c>/<c>False</c>, the TypeScript and Go SDKs send <c>true</c>/<c>false</c>.
/// </summary>
public readonly record struct Flag(bool Value)
{
    public static bool TryParse(string? text, IFormatProvider? provider, out Flag flag)
    {
        var ok = Validation.TryParseBool(text, out var v);
        flag = new Flag(v);
        return ok;
    }

    public static implicit operator bool(Flag flag) => flag.Value;

    public override string ToString() => Value ? "true" : "false";
}
