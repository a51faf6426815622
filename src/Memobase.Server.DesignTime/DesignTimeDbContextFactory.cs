using Memobase.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Memobase.Server.DesignTime;

/// <summary>
/// How `dotnet ef` builds the model: the server's own options, without starting the server. Generating a migration
/// needs no database; commands that do (<c>database update</c>) take <c>--connection</c>.
/// </summary>
public sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<MemobaseDb>
{
    public MemobaseDb CreateDbContext(string[] args)
        => new((DbContextOptions<MemobaseDb>)MemobaseDb.Configure(
            new DbContextOptionsBuilder<MemobaseDb>(), "Host=localhost;Database=memobase").Options);
}
