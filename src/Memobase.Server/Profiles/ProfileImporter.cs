using Memobase.Server.Buffers;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Projects;
using Memobase.Server.Content;

namespace Memobase.Server.Profiles;

/// <summary>
/// Upstream's profile import: free text becomes memory by going through the chat pipeline as one user message.
/// </summary>
public sealed class ProfileImporter(BillingService billing, IBufferFlusher flushes, BufferService buffers)
{
    /// <summary>The user message the text is wrapped in (upstream's wording).</summary>
    public static string Message(string context) => $"Below is my information, please remember them:\n{context}\n";

    /// <summary>
    /// Checks the quota, flushes the user's chat buffer and waits for it (so the import is processed on its own), inserts
    /// the text as a chat blob and flushes again, waiting for the result. Inside a <see cref="RequestTransaction"/> the
    /// first flush runs outside it (it processes earlier requests' entries) and the second is left to the transaction's
    /// owner to wait for.
    /// </summary>
    /// <returns>Null on success, else the first failure (quota errno 503, unknown user 404, a failed flush's errno).</returns>
    public async Task<Failure?> ImportAsync(Caller caller, Guid userId, string context, RequestTransaction? shared, CancellationToken ct)
    {
        if (await billing.CheckQuotaAsync(caller.ProjectId, ct) is { } quota) return quota;

        var before = await flushes.FlushAsync(caller.ProjectId, userId, BlobTypes.Chat, FlushTrigger.Flush, wait: true, ct);
        if (before.Failure is { } failure) return failure;

        var content = new ChatContent([new ChatMessage("user", Message(context))]);
        var inserted = await buffers.InsertAsync(caller, userId, BlobTypes.Chat, content, null, DateTimeOffset.UtcNow, waitProcess: false, shared, ct);
        if (inserted.Failure is { } insertFailure) return insertFailure;

        var after = await flushes.FlushAsync(caller.ProjectId, userId, BlobTypes.Chat, FlushTrigger.Flush, wait: true, shared, ct);
        return after.Failure;
    }
}
