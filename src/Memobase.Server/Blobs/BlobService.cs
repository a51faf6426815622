using System.Text.Json;
using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Projects;
using Memobase.Server.Content;

namespace Memobase.Server.Blobs;

/// <summary>
/// Blob insert after request validation, shared by the REST API and the MCP tools: the project's quota, the blob type's
/// parsing rules (errno 400 "Unable to parse blob: …"), then the buffer insert and its automatic flush.
/// </summary>
public sealed class BlobService(BufferService buffers, BillingService billing)
{
    public async Task<InsertOutcome> InsertAsync(Caller caller, Guid userId, string blobType, JsonElement blobData, string? fieldsJson,
        DateTimeOffset createdAt, bool waitProcess, RequestTransaction? shared, CancellationToken ct)
    {
        if (await billing.CheckQuotaAsync(caller.ProjectId, ct) is { } quota) return Failed(quota);

        var (content, parseError) = BlobParser.Parse(blobType, blobData);
        if (parseError is not null) return Failed(new Failure(Errno.BadRequest, $"Unable to parse blob: {parseError}"));
        if (content is null) return Failed(new Failure(Errno.InternalServerError, $"Error inserting blob: blob type {blobType} is not supported yet"));

        return await buffers.InsertAsync(caller, userId, blobType, content, fieldsJson, createdAt, waitProcess, shared, ct);
    }

    private static InsertOutcome Failed(Failure failure) => new(Guid.Empty, [], failure);
}
