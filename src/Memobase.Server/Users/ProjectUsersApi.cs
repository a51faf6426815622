using System.Text.Json;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Users;

public sealed record ProjectUser(Guid Id, string ProjectId, JsonElement? AdditionalFields, DateTime CreatedAt, DateTime UpdatedAt, long ProfileCount, long EventCount);

public sealed record ProjectUsersData(IReadOnlyList<ProjectUser> Users, long Count);

/// <summary><c>GET /api/v1/project/users</c>: the caller's project's users with their profile and event counts.</summary>
public static class ProjectUsersApi
{
    /// <summary>The <c>order_by</c> values, in the order of <see cref="UserOrder"/>.</summary>
    private static readonly string[] OrderBy = ["updated_at", "profile_count", "event_count"];

    public static RouteGroupBuilder MapProjectUsers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/project").WithTags("project");
        group.MapGet("/users", GetUsers)
            .WithName("get_project_users_api_v1_project_users_get")
            .WithSummary("Get Project Users")
            .WithDescription("Get the users of a project in different orders: search matches a substring of the user id; order_by " +
                             "updated_at|profile_count|event_count; count is the number of matching users.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<ProjectUsersData>>, UnprocessableEntity<HttpValidationError>>> GetUsers(
        Caller caller, UserDirectory users, CancellationToken ct,
        string? search = null, string? order_by = null, Flag? order_desc = null, int limit = 10, int offset = 0)
    {
        order_by ??= OrderBy[0];
        var column = Array.IndexOf(OrderBy, order_by);
        if (column < 0) return Validation.Problem([Validation.InvalidEnum("query", "order_by", order_by, OrderBy)]);
        if (limit < 0) return Validation.Problem(["query", "limit"], "Input should be greater than or equal to 0", "greater_than_equal", limit);
        if (offset < 0) return Validation.Problem(["query", "offset"], "Input should be greater than or equal to 0", "greater_than_equal", offset);
        var page = await users.ListAsync(new UserQuery(caller.ProjectId, search, limit, offset, (UserOrder)column, order_desc?.Value ?? true, WithFields: true), ct);
        return Api.Ok(new ProjectUsersData(
            [.. page.Users.Select(u => new ProjectUser(u.Id, u.ProjectId, u.AdditionalFields, u.CreatedAt, u.UpdatedAt, u.ProfileCount, u.EventCount))],
            page.Total));
    }
}
