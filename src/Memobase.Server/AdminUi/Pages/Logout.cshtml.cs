using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Memobase.Server.AdminUi.Pages;

/// <summary>Sign-out is a POST (with the antiforgery token); a GET only goes back to the overview.</summary>
public sealed class LogoutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/admin");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(AdminSession.Scheme);
        return Redirect(AdminSession.LoginPath);
    }
}
