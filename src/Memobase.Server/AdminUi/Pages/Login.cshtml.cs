using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Memobase.Server.Projects;

namespace Memobase.Server.AdminUi.Pages;

public sealed class LoginModel(ProjectTokenAuthenticator authenticator, IOptions<AdminUiOptions> options) : PageModel
{
    public string? Error { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync([FromForm] string? token, CancellationToken ct)
    {
        var (principal, error) = string.IsNullOrWhiteSpace(token) ? (null, "No token given") : await authenticator.AuthenticateAsync(token.Trim(), ct);
        if (principal?.Caller is not { } caller)
        {
            Error = $"Sign-in failed: {error}.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        await AdminSession.SignInAsync(HttpContext, caller, token!.Trim(), TimeSpan.FromMinutes(options.Value.SessionMinutes));
        var target = ReturnUrl is { } url && Url.IsLocalUrl(url) && url.StartsWith("/admin", StringComparison.Ordinal) ? url : "/admin";
        return LocalRedirect(target);
    }
}
