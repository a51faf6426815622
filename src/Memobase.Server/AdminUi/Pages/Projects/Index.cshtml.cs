using Memobase.Server.Data;
using Memobase.Server.Projects;
using Microsoft.AspNetCore.Mvc;

namespace Memobase.Server.AdminUi.Pages.Projects;

public sealed class ProjectsModel(ProjectStore store) : AdminPageModel
{
    public IReadOnlyList<ProjectInfo> Projects { get; private set; } = [];
    public ProjectCredentials? Created { get; private set; }
    public string? CreateError { get; private set; }
    public string? NewProjectId { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => Projects = await store.ListAsync(includeRoot: false, ct);

    public async Task<IActionResult> OnPostCreateAsync([FromForm] string? projectId, [FromForm] string? status, CancellationToken ct)
    {
        status ??= ProjectStatus.Active;
        NewProjectId = projectId;
        if (string.IsNullOrEmpty(projectId) || !ProjectStore.IsValidProjectId(projectId))
        {
            CreateError = "Project id must be 1-64 characters of letters, digits, '_' or '-' (and not __root__).";
        }
        else if (Array.IndexOf(ProjectStatus.All, status) < 0)
        {
            CreateError = $"Unknown status '{status}'.";
        }
        else
        {
            Created = await store.CreateAsync(projectId, status, ct);
            if (Created is null) CreateError = $"Project {projectId} already exists.";
            else NewProjectId = null;
        }
        if (CreateError is not null) Response.StatusCode = StatusCodes.Status400BadRequest;
        Projects = await store.ListAsync(includeRoot: false, ct);
        return Page();
    }
}
