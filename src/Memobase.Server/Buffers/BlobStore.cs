using Memobase.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Memobase.Server.Buffers;

/// <summary>
/// Reads and deletes stored blobs (the <c>blobs</c> table belongs to the buffer: a blob is inserted with its buffer
/// entry by <see cref="BufferService"/>, and processed chat blobs are deleted with their entries when a flush
/// completes). Scoped: it uses the request's <see cref="MemobaseDb"/>.
/// </summary>
public sealed class BlobStore(MemobaseDb db)
{
    public Task<Blob?> GetAsync(string projectId, Guid userId, Guid blobId, CancellationToken ct)
        => db.Blobs.AsNoTracking().FirstOrDefaultAsync(b => b.ProjectId == projectId && b.UserId == userId && b.Id == blobId, ct);

    /// <summary>Deletes the blob (its buffer entry cascades); nothing happens when there is none.</summary>
    public Task<int> DeleteAsync(string projectId, Guid userId, Guid blobId, CancellationToken ct)
        => db.Blobs.Where(b => b.ProjectId == projectId && b.UserId == userId && b.Id == blobId).ExecuteDeleteAsync(ct);

    /// <summary>One page of the ids of a user's stored blobs of one type, oldest first.</summary>
    public Task<List<Guid>> ListIdsAsync(string projectId, Guid userId, string blobType, int page, int pageSize, CancellationToken ct)
        => db.Blobs.AsNoTracking()
            .Where(b => b.ProjectId == projectId && b.UserId == userId && b.BlobType == blobType)
            .OrderBy(b => b.CreatedAt).ThenBy(b => b.Id)
            .Skip(page * pageSize).Take(pageSize)
            .Select(b => b.Id)
            .ToListAsync(ct);
}
