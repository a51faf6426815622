using System.Text.Json;
using Memobase.Server.Data;
using Memobase.Server.Idempotency;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Memobase.Server.Users;

public sealed record CreateUserRequest(JsonElement? Data = null, string? Id = null);

/// <summary>GET user payload. <c>id</c> is always null and the user's fields sit under <c>data</c>, as upstream.</summary>
public sealed record UserData(JsonElement? Data, Guid? Id, DateTime CreatedAt, DateTime UpdatedAt);

public static class UsersApi
{
    public static RouteGroupBuilder MapUsers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users").WithTags("user");

        group.MapPost("", CreateUser)
            .WithName("create_user_api_v1_users_post")
            .WithSummary("Create User")
            .WithDescription("Create a user with optional custom fields. A client-supplied id must be a UUID v4 or v5.")
            .ProducesValidationProblem422()
            .WithIdempotency();
        group.MapGet("/{user_id}", GetUser)
            .WithName("get_user_api_v1_users__user_id__get")
            .WithSummary("Get User")
            .WithDescription("The user's custom fields under data (id is always null, as upstream). Unknown user: errno 404.")
            .ProducesValidationProblem422();
        group.MapPut("/{user_id}", UpdateUser)
            .WithName("update_user_api_v1_users__user_id__put")
            .WithSummary("Update User")
            .WithDescription("Replace the user's custom fields with the JSON object in the body.")
            .ProducesValidationProblem422();
        group.MapDelete("/{user_id}", DeleteUser)
            .WithName("delete_user_api_v1_users__user_id__delete")
            .WithSummary("Delete User")
            .WithDescription("Delete the user and everything it owns: blobs, buffer entries, flush jobs, profiles, events.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<IdData>>, UnprocessableEntity<HttpValidationError>>> CreateUser(
        CreateUserRequest body, Caller caller, UserStore users, RequestTransaction shared, CancellationToken ct)
    {
        var id = Guid.NewGuid();
        if (body.Id is not null && !Validation.TryParseUuid45(body.Id, out id))
        {
            return Validation.Problem([Validation.InvalidUuid("body", "id", body.Id)]);
        }
        if (body.Data is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
        {
            return Validation.Problem(["body", "data"], "Input should be a valid dictionary", "dict_type");
        }

        var fields = body.Data is { ValueKind: JsonValueKind.Object } d ? d.GetRawText() : null;
        return await users.CreateAsync(caller.ProjectId, id, fields, shared, ct)
            ? Api.Ok(new IdData(id))
            : Api.Fail<IdData>(UserStore.AlreadyExists(id));
    }

    public static async Task<Ok<ApiResponse<UserData>>> GetUser(Guid user_id, Caller caller, UserStore users, CancellationToken ct)
        => await users.GetAsync(caller.ProjectId, user_id, ct) is { } user
            ? Api.Ok(new UserData(Json.Raw(user.FieldsJson), null, user.CreatedAt, user.UpdatedAt))
            : Api.Fail<UserData>(UserStore.NotFound(user_id));

    public static async Task<Results<Ok<ApiResponse<IdData>>, UnprocessableEntity<HttpValidationError>>> UpdateUser(
        Guid user_id, JsonElement body, Caller caller, UserStore users, CancellationToken ct)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Validation.Problem(["body"], "Input should be a valid dictionary", "dict_type");
        }
        return await users.UpdateFieldsAsync(caller.ProjectId, user_id, body.GetRawText(), ct)
            ? Api.Ok(new IdData(user_id))
            : Api.Fail<IdData>(UserStore.NotFound(user_id));
    }

    public static async Task<Ok<ApiResponse<object>>> DeleteUser(Guid user_id, Caller caller, UserStore users, CancellationToken ct)
        => await users.DeleteAsync(caller.ProjectId, user_id, ct) ? Api.Done() : Api.Fail<object>(UserStore.NotFound(user_id));
}
