using Memobase.Server.Data;
using Memobase.Server.Processing;
using Microsoft.AspNetCore.Mvc;

namespace Memobase.Server.AdminUi.Pages.Jobs;

public sealed class JobsModel(JobReader jobs) : AdminPageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty(SupportsGet = true)]
    public int Offset { get; set; }

    public JobPage Result { get; private set; } = new([], 0);

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(Status) || Array.IndexOf(JobStatus.All, Status) < 0) Status = null;
        Offset = Math.Max(0, Offset);
        Result = await jobs.ListAsync(Scope, Status, null, PageSize, Offset, ct);
    }
}
