using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Projects;
using Memobase.Server.Webhooks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Memobase.Server.Profiles;

namespace Memobase.Server.AdminUi.Pages.Projects;

public sealed class ProjectDetailModel(ProjectStore store, ProfileConfigStore configs, UsageReader usage, BillingService billing, WebhookStore webhooks) : AdminPageModel
{
    public const int UsageDays = 14;
    public const int RecentDeliveries = 20;

    [BindProperty(SupportsGet = true)]
    public string ProjectId { get; set; } = "";

    public ProjectInfo? Project { get; private set; }
    public string Config { get; private set; } = "";
    public string? ConfigError { get; private set; }
    public string? NewToken { get; private set; }
    public string? Message { get; private set; }
    public BillingData? Billing { get; private set; }
    public IReadOnlyList<DailyUsage> Usage { get; private set; } = [];
    public IReadOnlyList<WebhookInfo> Webhooks { get; private set; } = [];
    public IReadOnlyList<WebhookDeliveryInfo> Deliveries { get; private set; } = [];

    public Task<PageResult> OnGetAsync([FromQuery] string? saved, CancellationToken ct)
    {
        Message = saved switch
        {
            "config" => "Configuration saved.",
            "status" => "Status changed.",
            _ => null,
        };
        return LoadAsync(null, ct);
    }

    public async Task<IActionResult> OnPostStatusAsync([FromForm] string? status, CancellationToken ct)
    {
        if (status is not (ProjectStatus.Active or ProjectStatus.Suspended)) return BadRequest();
        return await store.SetStatusAsync(ProjectId, status, ct) is null
            ? NotFoundPage($"There is no project {ProjectId}.")
            : Redirect($"/admin/projects/{Uri.EscapeDataString(ProjectId)}?saved=status");
    }

    public async Task<IActionResult> OnPostRotateAsync(CancellationToken ct)
    {
        var rotated = await store.RotateTokenAsync(ProjectId, ct);
        if (rotated is null) return NotFoundPage($"There is no project {ProjectId}.");
        NewToken = rotated.Token;
        return await LoadAsync(null, ct);
    }

    public async Task<IActionResult> OnPostConfigAsync([FromForm] string? config, CancellationToken ct)
    {
        if (await store.GetAsync(ProjectId, ct) is null || ProjectId == MemobaseDb.RootProjectId) return NotFoundPage($"There is no project {ProjectId}.");
        var text = string.IsNullOrWhiteSpace(config) ? null : config.Replace("\r\n", "\n", StringComparison.Ordinal);
        var error = text is null ? null : ProfileConfig.Validate(text);
        if (error is null) await configs.SetAsync(ProjectId, text, ct);
        if (error is null) return Redirect($"/admin/projects/{Uri.EscapeDataString(ProjectId)}?saved=config");
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return await LoadAsync((text ?? "", error), ct);
    }

    private async Task<PageResult> LoadAsync((string Text, string Error)? rejected, CancellationToken ct)
    {
        Project = ProjectId == MemobaseDb.RootProjectId ? null : await store.GetAsync(ProjectId, ct);
        if (Project is null) return NotFoundPage($"There is no project {ProjectId}.");
        Config = rejected?.Text ?? await configs.GetAsync(ProjectId, ct);
        ConfigError = rejected?.Error;
        Billing = await billing.GetBillingAsync(new Caller(ProjectId, false), ct);
        Usage = await usage.DailyAsync(ProjectId, UsageDays, ct);
        Webhooks = await webhooks.ListAsync(ProjectId, ct);
        Deliveries = Webhooks.Count == 0 ? [] : await webhooks.RecentDeliveriesAsync(ProjectId, RecentDeliveries, ct);
        return Page();
    }
}
