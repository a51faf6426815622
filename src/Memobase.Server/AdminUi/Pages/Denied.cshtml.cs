namespace Memobase.Server.AdminUi.Pages;

public sealed class DeniedModel : AdminPageModel
{
    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
