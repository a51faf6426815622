using Memobase.Server.Users;
using Microsoft.AspNetCore.Mvc;

namespace Memobase.Server.AdminUi.Pages.Users;

public sealed class UsersModel(UserDirectory users) : AdminPageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)]
    public string? Search { get; set; }

    [BindProperty(SupportsGet = true)]
    public int Offset { get; set; }

    public UserListPage Result { get; private set; } = new([], 0);

    public async Task OnGetAsync(CancellationToken ct)
    {
        Offset = Math.Max(0, Offset);
        Result = await users.ListAsync(new UserQuery(Scope, Search, PageSize, Offset), ct);
    }
}
