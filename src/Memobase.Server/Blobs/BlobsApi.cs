using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Idempotency;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Memobase.Server.Content;

namespace Memobase.Server.Blobs;

/// <summary>Request body of blob insert (documentation shape; the handler parses the JSON itself for precise 422s).</summary>
public sealed record BlobInsertRequest(string BlobType, JsonElement BlobData, JsonElement? Fields = null, DateTimeOffset? CreatedAt = null, DateTimeOffset? UpdatedAt = null);

public sealed record BlobInsertData(Guid Id, IReadOnlyList<FlushResult> ChatResults);

public sealed record BlobRecord(string BlobType, JsonElement BlobData, JsonElement? Fields, DateTime CreatedAt, DateTime UpdatedAt);

public static class BlobsApi
{
    /// <summary>Largest insert body: a blob (a long document or chat batch) may be bigger than other requests.</summary>
    public const int InsertBodyBytes = 4 * 1024 * 1024;

    public static RouteGroupBuilder MapBlobs(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").WithTags("blob");

        group.MapPost("/blobs/insert/{user_id}", InsertBlob)
            .WithName("insert_blob_api_v1_blobs_insert__user_id__post")
            .WithSummary("Insert Blob")
            .WithDescription("Insert a chat, summary or doc blob. It joins the user's buffer of that type; when the buffer's idle tokens " +
                             "exceed max_chat_blob_buffer_token_size the buffer is flushed (synchronously with wait_process=true).")
            .Accepts<BlobInsertRequest>("application/json")
            .WithBodyLimit(InsertBodyBytes)
            .ProducesValidationProblem422()
            .WithIdempotency((data, results) =>
            {
                data!["chat_results"] = results;
                return data;
            });
        group.MapGet("/blobs/{user_id}/{blob_id}", GetBlob)
            .WithName("get_blob_api_v1_blobs__user_id___blob_id__get")
            .WithSummary("Get Blob")
            .WithDescription("A stored blob with its type, data, fields and timestamps. Processed chat blobs are gone unless persistent_chat_blobs is on (errno 404).")
            .ProducesValidationProblem422();
        group.MapDelete("/blobs/{user_id}/{blob_id}", DeleteBlob)
            .WithName("delete_blob_api_v1_blobs__user_id___blob_id__delete")
            .WithSummary("Delete Blob")
            .WithDescription("Delete a blob and its buffer entry. Succeeds when the blob does not exist.")
            .ProducesValidationProblem422();
        group.MapGet("/users/blobs/{user_id}/{blob_type}", ListBlobs)
            .WithName("get_user_all_blobs_api_v1_users_blobs__user_id___blob_type__get")
            .WithSummary("Get User All Blobs")
            .WithDescription("Blob ids of one type, oldest first, page by page.")
            .ProducesValidationProblem422();
        return group;
    }

    public static async Task<Results<Ok<ApiResponse<BlobInsertData>>, UnprocessableEntity<HttpValidationError>>> InsertBlob(
        Guid user_id, JsonElement body, Caller caller, Flag? wait_process, BlobService blobs, RequestTransaction shared, HttpResponse response, CancellationToken ct)
    {
        var errors = new List<ValidationError>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Validation.Problem(["body"], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
        }

        string? blobType = null;
        if (!body.TryGetProperty("blob_type", out var typeElement) || typeElement.ValueKind == JsonValueKind.Null)
        {
            errors.Add(Validation.Missing("body", "blob_type"));
        }
        else if (typeElement.ValueKind != JsonValueKind.String || !BlobTypes.IsKnown(typeElement.GetString()))
        {
            errors.Add(Validation.InvalidEnum("body", "blob_type", typeElement.ToString(), BlobTypes.All));
        }
        else
        {
            blobType = typeElement.GetString();
        }

        if (!body.TryGetProperty("blob_data", out var data) || data.ValueKind == JsonValueKind.Null)
        {
            errors.Add(Validation.Missing("body", "blob_data"));
        }
        else if (data.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new ValidationError(["body", "blob_data"], "Input should be a valid dictionary", "dict_type"));
        }

        // The TypeScript SDK sends the whole blob (type, fields, created_at) inside blob_data: accept those as fallbacks.
        var fields = OptionalObject(body, "fields", errors) ?? (data.ValueKind == JsonValueKind.Object ? OptionalObject(data, "fields", null) : null);
        var createdAt = OptionalTimestamp(body, "created_at", errors)
                        ?? (data.ValueKind == JsonValueKind.Object ? OptionalTimestamp(data, "created_at", null) : null);
        OptionalTimestamp(body, "updated_at", errors);
        if (errors.Count > 0) return Validation.Problem(errors);

        var outcome = await blobs.InsertAsync(caller, user_id, blobType!, data, fields?.GetRawText(),
            createdAt ?? DateTimeOffset.UtcNow, wait_process?.Value ?? false, shared, ct);
        if (outcome.JobId is { } jobId) response.Headers[MemobaseHeaders.JobId] = jobId.ToString();
        return outcome.Failure is { } failure
            ? Api.Fail<BlobInsertData>(failure)
            : Api.Ok(new BlobInsertData(outcome.BlobId, outcome.ChatResults));
    }

    public static async Task<Ok<ApiResponse<BlobRecord>>> GetBlob(Guid user_id, Guid blob_id, Caller caller, BlobStore blobs, CancellationToken ct)
    {
        var blob = await blobs.GetAsync(caller.ProjectId, user_id, blob_id, ct);
        return blob is null
            ? Api.Fail<BlobRecord>(Failure.NotFound($"Blob with id {blob_id} of user {user_id} not found"))
            : Api.Ok(new BlobRecord(blob.BlobType, Json.Raw(blob.BlobData)!.Value, Json.Raw(blob.AdditionalFields), blob.CreatedAt, blob.UpdatedAt));
    }

    public static async Task<Ok<ApiResponse<object>>> DeleteBlob(Guid user_id, Guid blob_id, Caller caller, BlobStore blobs, CancellationToken ct)
    {
        await blobs.DeleteAsync(caller.ProjectId, user_id, blob_id, ct);
        return Api.Done();
    }

    public static async Task<Results<Ok<ApiResponse<IdsData>>, UnprocessableEntity<HttpValidationError>>> ListBlobs(
        Guid user_id, string blob_type, Caller caller, BlobStore blobs, CancellationToken ct,
        [Range(0, 1_000_000)] int page = 0, [Range(1, 1000)] int page_size = 10)
    {
        if (page < 0) return Validation.Problem(["query", "page"], "Input should be greater than or equal to 0", "greater_than_equal", page);
        if (page_size < 1) return Validation.Problem(["query", "page_size"], "Input should be greater than or equal to 1", "greater_than_equal", page_size);
        return Api.Ok(new IdsData(await blobs.ListIdsAsync(caller.ProjectId, user_id, blob_type, page, page_size, ct)));
    }

    private static JsonElement? OptionalObject(JsonElement obj, string name, List<ValidationError>? errors)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Object) return v;
        errors?.Add(new ValidationError(["body", name], "Input should be a valid dictionary", "dict_type"));
        return null;
    }

    private static DateTimeOffset? OptionalTimestamp(JsonElement obj, string name, List<ValidationError>? errors)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String && Timestamps.TryParse(v.GetString(), out var at)) return at;
        errors?.Add(new ValidationError(["body", name], "Input should be a valid datetime", "datetime_parsing", v.ToString()));
        return null;
    }
}
