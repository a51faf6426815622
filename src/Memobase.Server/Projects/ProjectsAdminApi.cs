using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Memobase.Server.Projects;

public sealed record CreateProjectRequest(string? ProjectId, string? Status = null);

public sealed record UpdateProjectRequest(string? Status);

/// <summary>The project's bearer token is shown once, at creation or rotation; only its SHA-256 is stored.</summary>
public sealed record ProjectCredentials(string ProjectId, string Status, string Token);

public sealed record ProjectInfo(string ProjectId, string Status, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>
/// Project provisioning (root token only). Upstream leaves this to Memobase Cloud; a self-hosted server needs it to
/// hand out <c>sk-&lt;project_id&gt;-&lt;secret&gt;</c> tokens whose data is isolated from every other project.
/// </summary>
public static partial class ProjectsAdminApi
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
        CreateProjectRequest body, MemobaseDb db, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.ProjectId)) return Validation.Problem([Validation.Missing("body", "project_id")]);
        if (!ProjectIdPattern().IsMatch(body.ProjectId) || body.ProjectId == MemobaseDb.RootProjectId)
        {
            return Validation.Problem(["body", "project_id"], "Project id must be 1-64 characters of letters, digits, '_' or '-'", "string_pattern_mismatch", body.ProjectId);
        }
        var status = body.Status ?? ProjectStatus.Active;
        if (Array.IndexOf(ProjectStatus.All, status) < 0) return Validation.Problem([Validation.InvalidEnum("body", "status", status, ProjectStatus.All)]);

        var token = NewToken(body.ProjectId);
        var hash = ProjectTokenAuthenticator.HashToken(token);
        var inserted = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO projects (project_id, project_secret, status) VALUES ({body.ProjectId}, {hash}, {status}) ON CONFLICT DO NOTHING
            """, ct);
        return inserted == 0
            ? Api.Fail<ProjectCredentials>(Errno.Conflict, $"Project {body.ProjectId} already exists")
            : Api.Ok(new ProjectCredentials(body.ProjectId, status, token));
    }

    public static async Task<Ok<ApiResponse<IReadOnlyList<ProjectInfo>>>> ListProjects(MemobaseDb db, CancellationToken ct)
    {
        var list = await db.Projects.AsNoTracking().OrderBy(p => p.CreatedAt)
            .Select(p => new ProjectInfo(p.ProjectId, p.Status, p.CreatedAt, p.UpdatedAt)).ToListAsync(ct);
        return Api.Ok<IReadOnlyList<ProjectInfo>>(list);
    }

    public static async Task<Results<Ok<ApiResponse<ProjectInfo>>, UnprocessableEntity<HttpValidationError>>> UpdateProject(
        string project_id, UpdateProjectRequest body, MemobaseDb db, ProjectTokenAuthenticator auth, CancellationToken ct)
    {
        if (body.Status is null || Array.IndexOf(ProjectStatus.All, body.Status) < 0)
        {
            return Validation.Problem([Validation.InvalidEnum("body", "status", body.Status, ProjectStatus.All)]);
        }
        var updated = await db.Projects.Where(p => p.ProjectId == project_id && p.ProjectId != MemobaseDb.RootProjectId)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, body.Status).SetProperty(p => p.UpdatedAt, DateTime.UtcNow), ct);
        auth.Invalidate(project_id);
        if (updated == 0) return Api.Fail<ProjectInfo>(Failure.NotFound($"Project {project_id} not found"));
        var p = await db.Projects.AsNoTracking().FirstAsync(x => x.ProjectId == project_id, ct);
        return Api.Ok(new ProjectInfo(p.ProjectId, p.Status, p.CreatedAt, p.UpdatedAt));
    }

    public static async Task<Ok<ApiResponse<ProjectCredentials>>> RotateToken(string project_id, MemobaseDb db, ProjectTokenAuthenticator auth, CancellationToken ct)
    {
        var token = NewToken(project_id);
        var hash = ProjectTokenAuthenticator.HashToken(token);
        var updated = await db.Projects.Where(p => p.ProjectId == project_id && p.ProjectId != MemobaseDb.RootProjectId)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.ProjectSecret, hash).SetProperty(p => p.UpdatedAt, DateTime.UtcNow), ct);
        auth.Invalidate(project_id);
        if (updated == 0) return Api.Fail<ProjectCredentials>(Failure.NotFound($"Project {project_id} not found"));
        var status = await db.Projects.Where(p => p.ProjectId == project_id).Select(p => p.Status).FirstAsync(ct);
        return Api.Ok(new ProjectCredentials(project_id, status, token));
    }

    private static string NewToken(string projectId) => $"sk-{projectId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ProjectIdPattern();
}
