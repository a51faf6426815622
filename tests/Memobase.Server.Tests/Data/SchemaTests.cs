using Memobase.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Memobase.Server.Tests.Data;

/// <summary>The EF model is the schema's source of truth: the generated migrations must describe it completely.</summary>
public sealed class SchemaTests
{
    /// <summary>A context with the server's own options; the connection string is never opened.</summary>
    public static MemobaseDb OfflineContext()
        => new((DbContextOptions<MemobaseDb>)MemobaseDb.Configure(new DbContextOptionsBuilder<MemobaseDb>(), "Host=127.0.0.1;Database=none").Options);

    [Fact]
    public void The_model_has_no_changes_that_a_migration_does_not_cover()
    {
        using var db = OfflineContext();
        Assert.False(db.Database.HasPendingModelChanges(),
            "The EF model differs from the last migration's snapshot: add a migration (README, \"Changing the schema\").");
    }
}
