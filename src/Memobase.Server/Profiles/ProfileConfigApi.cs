using System.Text.Json;
using Memobase.Server.Infrastructure;
using Memobase.Server.Projects;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Memobase.Server.Profiles;

/// <summary>Body of POST profile_config (the key is required; null clears the configuration).</summary>
public sealed record ProfileConfigData(string? ProfileConfig);

/// <summary>The project's profile_config: stored verbatim by <see cref="ProfileConfigStore"/>, validated here as <see cref="ProfileConfig"/>.</summary>
public static class ProfileConfigApi
{
    public static RouteGroupBuilder MapProfileConfig(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/project").WithTags("project");

        group.MapPost("/profile_config", UpdateProfileConfig)
            .WithName("update_project_profile_config_api_v1_project_profile_config_post")
            .WithSummary("Update Project Profile Config")
            .WithDescription("Store the project's profile_config YAML verbatim (null clears it). Longer than 65535 characters or " +
                             "invalid (YAML or schema) → errno 400.")
            .Accepts<ProfileConfigData>("application/json")
            .ProducesValidationProblem422();
        group.MapGet("/profile_config", GetProfileConfig)
            .WithName("get_project_profile_config_string_api_v1_project_profile_config_get")
            .WithSummary("Get Project Profile Config String")
            .WithDescription("The stored profile_config, \"\" when none.");
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<object>>, UnprocessableEntity<HttpValidationError>>> UpdateProfileConfig(
        JsonElement body, Caller caller, ProfileConfigStore configs, CancellationToken ct)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Validation.Problem(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
        }
        if (!body.TryGetProperty("profile_config", out var value)) return Validation.Problem([Validation.Missing("body", "profile_config")]);
        if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return Validation.Problem(["body", "profile_config"], "Input should be a valid string", "string_type");
        }
        var config = value.GetString();
        if (config is not null && ProfileConfig.Validate(config) is { } error) return Api.Fail<object>(Errno.BadRequest, error);
        await configs.SetAsync(caller.ProjectId, config, ct);
        return Api.Done();
    }

    public static async Task<Ok<ApiResponse<ProfileConfigData>>> GetProfileConfig(Caller caller, ProfileConfigStore configs, CancellationToken ct)
        => Api.Ok(new ProfileConfigData(await configs.GetAsync(caller.ProjectId, ct)));
}
