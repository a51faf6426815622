using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Memobase.Server.AdminUi;

/// <summary>Base of the console's pages: the signed-in caller, its project scope, and a not-found page with status 404.</summary>
public abstract class AdminPageModel : PageModel
{
    public AdminCaller Admin => AdminSession.From(User);

    /// <summary>The project queries are limited to, or null for root.</summary>
    protected string? Scope => Admin.Scope;

    /// <summary>Set when the page answers 404: the message shown instead of the page's content.</summary>
    public string? Missing { get; private set; }

    protected PageResult NotFoundPage(string message)
    {
        Missing = message;
        Response.StatusCode = StatusCodes.Status404NotFound;
        return Page();
    }
}

/// <summary>Display formats shared by the pages (UTC, invariant culture).</summary>
public static class Show
{
    public static string Time(DateTime? utc) => utc is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "—";

    public static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Ms(int? ms) => ms is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) + " ms" : "—";

    public static string Duration(DateTime? from, DateTime? to)
        => from is { } a && to is { } b ? ((long)(b - a).TotalMilliseconds).ToString("N0", CultureInfo.InvariantCulture) + " ms" : "—";

    public static string Abbrev(Guid id) => id.ToString()[..8];

    public static string Clip(string? text, int max) => text is null ? "" : text.Length <= max ? text : text[..max] + "…";
}
