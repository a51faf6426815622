using Memobase.Server.Buffers;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace Memobase.Server.AdminUi.Pages;

public sealed class BuffersModel(ConversationBuffers buffers) : AdminPageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true, Name = "user")]
    public string? UserFilter { get; set; }

    [BindProperty(SupportsGet = true)]
    public string State { get; set; } = ConversationBuffers.Pending;

    [BindProperty(SupportsGet = true)]
    public int PageNo { get; set; } = 1;

    public ConversationPage Result { get; private set; } = new(0, [], 1);
    public string? Error { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (Array.IndexOf(ConversationBuffers.States, State) < 0) State = ConversationBuffers.Pending;
        PageNo = Math.Max(1, PageNo);
        Guid? user = null;
        if (!string.IsNullOrWhiteSpace(UserFilter))
        {
            if (Validation.TryParseUuid45(UserFilter.Trim(), out var id)) user = id;
            else
            {
                Error = $"“{UserFilter}” is not a user id (a UUID).";
                Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
        }
        Result = await buffers.ListAsync(new ConversationQuery(Scope, user, null, State, PageNo, PageSize), ct);
    }
}
