using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Memobase.Server.Projects;

/// <summary>The project's bearer token is shown once, at creation or rotation; only its SHA-256 is stored.</summary>
public sealed record ProjectCredentials(string ProjectId, string Status, string Token);

public sealed record ProjectInfo(string ProjectId, string Status, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>
/// Project provisioning and settings: create, list, change status, rotate the token, read and write the
/// <c>profile_config</c>. Status and token changes drop the project's cached tokens at once. Scoped (uses the request's
/// <see cref="MemobaseDb"/>).
/// </summary>
public sealed partial class ProjectStore(MemobaseDb db, ProjectTokenAuthenticator auth)
{

    public static bool IsValidProjectId(string projectId) => RouteIds.IsProjectId(projectId) && projectId != MemobaseDb.RootProjectId;

    /// <returns>The credentials, or null when the project already exists.</returns>
    public async Task<ProjectCredentials?> CreateAsync(string projectId, string status, CancellationToken ct)
    {
        var token = NewToken(projectId);
        var hash = ProjectTokenAuthenticator.HashToken(token);
        var inserted = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO projects (project_id, project_secret, status) VALUES ({projectId}, {hash}, {status}) ON CONFLICT DO NOTHING
            """, ct);
        return inserted == 0 ? null : new ProjectCredentials(projectId, status, token);
    }

    /// <summary>Every project, oldest first; the root project only when asked for (the admin API lists it, the console does not).</summary>
    public async Task<List<ProjectInfo>> ListAsync(bool includeRoot, CancellationToken ct)
    {
        return await db.Projects.AsNoTracking().Where(p => includeRoot || p.ProjectId != MemobaseDb.RootProjectId).OrderBy(p => p.CreatedAt)
            .Select(p => new ProjectInfo(p.ProjectId, p.Status, p.CreatedAt, p.UpdatedAt)).ToListAsync(ct);
    }

    /// <summary>Whether the project exists (the root project included).</summary>
    public Task<bool> ExistsAsync(string projectId, CancellationToken ct) => db.Projects.AnyAsync(p => p.ProjectId == projectId, ct);

    public async Task<ProjectInfo?> GetAsync(string projectId, CancellationToken ct)
    {
        return await db.Projects.AsNoTracking().Where(p => p.ProjectId == projectId)
            .Select(p => new ProjectInfo(p.ProjectId, p.Status, p.CreatedAt, p.UpdatedAt)).FirstOrDefaultAsync(ct);
    }

    /// <returns>The updated project, or null when it does not exist (or is root).</returns>
    public async Task<ProjectInfo?> SetStatusAsync(string projectId, string status, CancellationToken ct)
    {
        var updated = await db.Projects.Where(p => p.ProjectId == projectId && p.ProjectId != MemobaseDb.RootProjectId)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Status, status).SetProperty(p => p.UpdatedAt, DateTime.UtcNow), ct);
        auth.Invalidate(projectId);
        return updated == 0 ? null : await GetAsync(projectId, ct);
    }

    /// <returns>The new credentials, or null when the project does not exist (or is root).</returns>
    public async Task<ProjectCredentials?> RotateTokenAsync(string projectId, CancellationToken ct)
    {
        var token = NewToken(projectId);
        var hash = ProjectTokenAuthenticator.HashToken(token);
        var updated = await db.Projects.Where(p => p.ProjectId == projectId && p.ProjectId != MemobaseDb.RootProjectId)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.ProjectSecret, hash).SetProperty(p => p.UpdatedAt, DateTime.UtcNow), ct);
        auth.Invalidate(projectId);
        if (updated == 0) return null;
        var status = await db.Projects.Where(p => p.ProjectId == projectId).Select(p => p.Status).FirstAsync(ct);
        return new ProjectCredentials(projectId, status, token);
    }

    private static string NewToken(string projectId) => $"sk-{projectId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}";

}
