using System.Globalization;
using Memobase.Server.Processing;
using Memobase.Server.Projects;

namespace Memobase.Server.AdminUi.Pages;

public sealed class IndexModel(JobReader jobs, UsageReader usage) : AdminPageModel
{
    public const int ChartDays = 30;

    public QueueStats Stats { get; private set; } = new(0, 0, 0, 0, 0);
    public IReadOnlyList<RecentFailure> Failures { get; private set; } = [];
    public IReadOnlyList<DailyUsage> Days { get; private set; } = [];
    public IReadOnlyList<ProjectTokens> TopProjects { get; private set; } = [];
    public string WideChart { get; private set; } = "";
    public string NarrowChart { get; private set; } = "";
    public long InputTotal => Days.Sum(d => d.TotalInputToken);
    public long OutputTotal => Days.Sum(d => d.TotalOutputToken);
    public string DrainPerMinute => (Stats.DoneLastHour / 60.0).ToString("0.##", CultureInfo.InvariantCulture);

    public async Task OnGetAsync(CancellationToken ct)
    {
        Stats = await jobs.StatsAsync(Scope, ct);
        Failures = await jobs.RecentFailuresAsync(Scope, 20, ct);
        var days = await usage.DailyAsync(Scope, ChartDays, ct);
        days.Reverse();
        Days = days;
        if (Admin.IsRoot) TopProjects = await usage.TopProjectsAsync(ChartDays, 10, ct);
        const string title = "LLM input and output tokens per day, last 30 days";
        WideChart = TokenChart.Wide(days, title);
        NarrowChart = TokenChart.Narrow(days, title);
    }
}
