using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations.Internal;

namespace Memobase.Server.Data;

/// <summary>
/// Keeps <c>__EFMigrationsHistory</c> in EF's own column names. The snake_case naming convention would otherwise rename
/// its columns too (EFCore.NamingConventions applies to the history table's model as well), and every database created
/// so far has <c>"MigrationId"</c> and <c>"ProductVersion"</c>.
/// </summary>
#pragma warning disable EF1001 // NpgsqlHistoryRepository is the provider's history repository; we only rename its columns back.
internal sealed class MigrationsHistoryRepository(HistoryRepositoryDependencies dependencies) : NpgsqlHistoryRepository(dependencies)
{
    protected override void ConfigureTable(EntityTypeBuilder<HistoryRow> history)
    {
        base.ConfigureTable(history);
        history.HasKey(h => h.MigrationId).HasName("PK___EFMigrationsHistory");
        history.Property(h => h.MigrationId).HasColumnName("MigrationId");
        history.Property(h => h.ProductVersion).HasColumnName("ProductVersion");
    }
}
#pragma warning restore EF1001
