using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Memobase.Server.Projects;

public sealed record CreateProjectRequest(string? ProjectId, string? Status = null);

public sealed record UpdateProjectRequest(string? Status);

/// <summary>
/// Project provisioning (root token only). Upstream leaves this to Memobase Cloud; a self-hosted server needs it to
/// hand out <c>sk-&lt;project_id&gt;-&lt;secret&gt;</c> tokens whose data is isolated from every other project.
/// </summary>
public static class ProjectsAdminApi
{
    public static RouteGroupBuilder MapProjectsAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/v1/projects").WithTags("admin");
        group.MapPost("", CreateProject).WithName("admin_create_project").WithSummary("Create Project")
            .WithDescription("Create a project and return its bearer token (shown once).").ProducesValidationProblem422();
        group.MapGet("", ListProjects).WithName("admin_list_projects").WithSummary("List Projects")
            .WithDescription("Every project with its status and timestamps (tokens are never shown again).");
        group.MapPatch("/{project_id}", UpdateProject).WithName("admin_update_project").WithSummary("Update Project Status")
            .WithDescription("Set status active|pro|ultra|suspended. Suspended projects get HTTP 401.").ProducesValidationProblem422();
        group.MapPost("/{project_id}/rotate_token", RotateToken).WithName("admin_rotate_project_token").WithSummary("Rotate Project Token")
            .WithDescription("Issue a new token; the old one stops working.");
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<ProjectCredentials>>, UnprocessableEntity<HttpValidationError>>> CreateProject(
        CreateProjectRequest body, ProjectStore projects, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.ProjectId)) return Validation.Problem([Validation.Missing("body", "project_id")]);
        if (!ProjectStore.IsValidProjectId(body.ProjectId))
        {
            return Validation.Problem([RouteIds.InvalidProjectId("body", body.ProjectId)]);
        }
        var status = body.Status ?? ProjectStatus.Active;
        if (Array.IndexOf(ProjectStatus.All, status) < 0) return Validation.Problem([Validation.InvalidEnum("body", "status", status, ProjectStatus.All)]);

        return await projects.CreateAsync(body.ProjectId, status, ct) is { } created
            ? Api.Ok(created)
            : Api.Fail<ProjectCredentials>(Errno.Conflict, $"Project {body.ProjectId} already exists");
    }

    public static async Task<Ok<ApiResponse<IReadOnlyList<ProjectInfo>>>> ListProjects(ProjectStore projects, CancellationToken ct)
        => Api.Ok<IReadOnlyList<ProjectInfo>>(await projects.ListAsync(includeRoot: true, ct));

    public static async Task<Results<Ok<ApiResponse<ProjectInfo>>, UnprocessableEntity<HttpValidationError>>> UpdateProject(
        string project_id, UpdateProjectRequest body, ProjectStore projects, CancellationToken ct)
    {
        if (body.Status is null || Array.IndexOf(ProjectStatus.All, body.Status) < 0)
        {
            return Validation.Problem([Validation.InvalidEnum("body", "status", body.Status, ProjectStatus.All)]);
        }
        return await projects.SetStatusAsync(project_id, body.Status, ct) is { } updated
            ? Api.Ok(updated)
            : Api.Fail<ProjectInfo>(Failure.NotFound($"Project {project_id} not found"));
    }

    public static async Task<Ok<ApiResponse<ProjectCredentials>>> RotateToken(string project_id, ProjectStore projects, CancellationToken ct)
        => await projects.RotateTokenAsync(project_id, ct) is { } rotated
            ? Api.Ok(rotated)
            : Api.Fail<ProjectCredentials>(Failure.NotFound($"Project {project_id} not found"));
}
