using System.Text.Json;
using Memobase.Server.Serialization;
using Memobase.Server.Processing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Memobase.Server.Telemetry;
using Memobase.Server.Buffers;

namespace Memobase.Server.AdminUi.Pages.Jobs;

public sealed class JobDetailModel(JobReader jobs, BufferEntryReader buffers, JobQueue queue, FlushSignal signal) : AdminPageModel
{
    [BindProperty(SupportsGet = true)]
    public Guid JobId { get; set; }

    public JobDetail? Detail { get; private set; }
    public IReadOnlyList<JobEntry> Entries { get; private set; } = [];
    public string? Message { get; private set; }

    /// <summary>Each attempt's LLM and embedding calls, in the order they started (empty: none recorded).</summary>
    public static IReadOnlyList<LlmCallRecord> CallsOf(JobAttemptView attempt)
        => attempt.Calls is { ValueKind: JsonValueKind.Array } calls ? calls.Deserialize<List<LlmCallRecord>>(Json.Storage) ?? [] : [];
    public bool MessageIsError { get; private set; }

    public Task<PageResult> OnGetAsync([FromQuery] bool retried, CancellationToken ct)
    {
        if (retried) Message = "Retry queued.";
        return LoadAsync(ct);
    }

    public async Task<IActionResult> OnPostRetryAsync(CancellationToken ct)
    {
        if (await jobs.GetSummaryAsync(Scope, JobId, ct) is null) return await LoadAsync(ct);
        var failure = await queue.RetryFailedAsync(JobId, ct);
        if (failure is null)
        {
            signal.Wake();
            return Redirect($"/admin/jobs/{JobId}?retried=true");
        }
        Message = failure.Message;
        MessageIsError = true;
        Response.StatusCode = StatusCodes.Status409Conflict;
        return await LoadAsync(ct);
    }

    private async Task<PageResult> LoadAsync(CancellationToken ct)
    {
        Detail = await jobs.GetAsync(Scope, JobId, ct);
        if (Detail is null) return NotFoundPage($"There is no job {JobId}{(Admin.IsRoot ? "" : " in your project")}.");
        Entries = await buffers.JobEntriesAsync(JobId, ct);
        return Page();
    }
}
