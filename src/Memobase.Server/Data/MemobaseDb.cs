using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Memobase.Server.Data;

/// <summary>
/// EF Core model over the schema created by the hand-written migrations in <c>Data/Migrations</c>.
/// The migrations are the source of truth for DDL (partial indexes, identity, GIN); this model only has to agree
/// with them on tables, columns and keys. Hot paths (insert, capacity, job queue) use Npgsql directly.
/// </summary>
public sealed class MemobaseDb(DbContextOptions<MemobaseDb> options) : DbContext(options)
{
    public const string RootProjectId = "__root__";

    public DbSet<Project> Projects => Set<Project>();
    public DbSet<User> Users => Set<User>();
    public DbSet<Blob> Blobs => Set<Blob>();
    public DbSet<BufferEntry> BufferEntries => Set<BufferEntry>();
    public DbSet<FlushJob> FlushJobs => Set<FlushJob>();
    public DbSet<FlushJobAttempt> FlushJobAttempts => Set<FlushJobAttempt>();
    public DbSet<UserProfile> UserProfiles => Set<UserProfile>();
    public DbSet<UserEvent> UserEvents => Set<UserEvent>();
    public DbSet<UserEventGist> UserEventGists => Set<UserEventGist>();
    public DbSet<UsageDaily> UsageDaily => Set<UsageDaily>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Project>(e =>
        {
            e.HasKey(x => x.ProjectId);
        });
        modelBuilder.Entity<User>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id });
            e.Property(x => x.AdditionalFields).HasColumnType("jsonb");
        });
        modelBuilder.Entity<Blob>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id });
            e.Property(x => x.BlobData).HasColumnType("jsonb");
            e.Property(x => x.AdditionalFields).HasColumnType("jsonb");
        });
        modelBuilder.Entity<BufferEntry>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id });
            e.Property(x => x.Seq).ValueGeneratedOnAdd();
        });
        modelBuilder.Entity<FlushJob>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Result).HasColumnType("jsonb");
        });
        modelBuilder.Entity<FlushJobAttempt>(e => e.HasKey(x => new { x.JobId, x.Attempt }));
        modelBuilder.Entity<UserProfile>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id });
            e.Property(x => x.Attributes).HasColumnType("jsonb");
        });
        modelBuilder.Entity<UserEvent>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id });
            e.Property(x => x.EventData).HasColumnType("jsonb");
        });
        modelBuilder.Entity<UserEventGist>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id });
            e.Property(x => x.GistData).HasColumnType("jsonb");
        });
        modelBuilder.Entity<UsageDaily>(e =>
        {
            e.ToTable("usage_daily");
            e.HasKey(x => new { x.ProjectId, x.Day });
        });

        SnakeCase.Apply(modelBuilder);
    }
}

/// <summary>snake_case names for tables and columns (EFCore.NamingConventions does not load on EF 10).</summary>
internal static class SnakeCase
{
    public static string Convert(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] != '_' && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                {
                    sb.Append('_');
                }
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    public static void Apply(ModelBuilder modelBuilder)
    {
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            if (entity.GetTableName() is { } table && entity.BaseType is null)
            {
                entity.SetTableName(Convert(table));
            }
            var store = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            foreach (var p in entity.GetProperties())
            {
                p.SetColumnName(Convert(p.GetColumnName(store) ?? p.Name));
            }
        }
    }
}
