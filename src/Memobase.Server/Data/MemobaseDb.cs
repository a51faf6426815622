using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Memobase.Server.Data;

/// <summary>
/// The EF Core model is the schema's source of truth: every column type, default, check, key, foreign key and index
/// is declared here, and the migrations in <c>Data/Migrations</c> are generated from it by <c>dotnet ef</c> (README,
/// "Changing the schema"). Only what EF cannot express is raw SQL inside a migration: the cosine function
/// (<see cref="VectorFunctions"/>), the expression GIN index on event tags, and the sign-bit function, back-fill and
/// trigger of <c>embedding_bits</c> (migration EventEmbeddingSignBits).
/// Every row carries project_id and every foreign key includes it, so a query scoped by project can never join into
/// another project's rows; deleting a user cascades to everything it owns. Constraint and index names are spelled out
/// because databases created before the model owned the schema carry PostgreSQL's default names.
/// </summary>
public sealed class MemobaseDb(DbContextOptions<MemobaseDb> options) : DbContext(options), IDataProtectionKeyContext
{
    public const string RootProjectId = "__root__";

    private const string Now = "now()";
    private const int ProjectIdLength = 64;
    private const int EnumLength = 16;
    private const int WorkerLength = 128;

    /// <summary>Longest Idempotency-Key header value.</summary>
    public const int IdempotencyKeyLength = 255;
    /// <summary>A W3C traceparent is 55 characters (version 00); room for a future version's extra fields.</summary>
    private const int TraceParentLength = 128;

    /// <summary>ASP.NET Core Data Protection's key ring (admin console cookies, antiforgery), shared by every replica.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
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
    public DbSet<LlmBudgetBucket> LlmBudgetBuckets => Set<LlmBudgetBucket>();

    /// <summary>The provider options every MemobaseDb is built with (the server, the design-time factory, tests).</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, NpgsqlDataSource dataSource)
        => Conventions(builder.UseNpgsql(dataSource));

    /// <inheritdoc cref="Configure(DbContextOptionsBuilder, NpgsqlDataSource)"/>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, string connectionString)
        => Conventions(builder.UseNpgsql(connectionString));

    private static DbContextOptionsBuilder Conventions(DbContextOptionsBuilder builder)
        => builder.UseSnakeCaseNamingConvention().ReplaceService<IHistoryRepository, MigrationsHistoryRepository>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Project>(e =>
        {
            e.HasKey(x => x.ProjectId).HasName("projects_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.ProjectSecret).HasMaxLength(255);
            e.Property(x => x.Status).HasMaxLength(EnumLength).HasDefaultValue(ProjectStatus.Active);
            Timestamps(e);
            e.HasData(new Project
            {
                ProjectId = RootProjectId,
                ProjectSecret = RootProjectId,
                Status = ProjectStatus.Active,
                CreatedAt = new DateTime(2026, 11, 21, 0, 0, 0, DateTimeKind.Utc),
                UpdatedAt = new DateTime(2026, 11, 21, 0, 0, 0, DateTimeKind.Utc),
            });
        });

        modelBuilder.Entity<User>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("users_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.AdditionalFields).HasColumnType("jsonb");
            Timestamps(e);
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.ProjectId)
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("users_project_id_fkey");
            e.HasIndex(x => new { x.ProjectId, x.UpdatedAt }, "ix_users_project_updated").HasDatabaseName("ix_users_project_updated").IsDescending(false, true);
        });

        modelBuilder.Entity<Blob>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("blobs_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.BlobType).HasMaxLength(EnumLength);
            e.Property(x => x.BlobData).HasColumnType("jsonb");
            e.Property(x => x.AdditionalFields).HasColumnType("jsonb");
            Timestamps(e);
            e.HasOne<User>().WithMany().HasForeignKey(x => new { x.ProjectId, x.UserId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("blobs_project_id_user_id_fkey");
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.BlobType, x.CreatedAt }, "ix_blobs_user_type_created").HasDatabaseName("ix_blobs_user_type_created");
        });

        modelBuilder.Entity<BufferEntry>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("buffer_entries_pkey");
            e.HasAlternateKey(x => x.Seq).HasName("ux_buffer_entries_seq");
            e.ToTable(t => t.HasCheckConstraint("ck_buffer_entries_status", "status IN ('idle', 'processing', 'done', 'failed')"));
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.Seq).UseIdentityByDefaultColumn();
            e.Property(x => x.BlobType).HasMaxLength(EnumLength);
            e.Property(x => x.Status).HasMaxLength(EnumLength).HasDefaultValue(BufferStatus.Idle);
            e.Property(x => x.Attempts).HasDefaultValue(0);
            Timestamps(e);
            // No foreign key to users: entries cascade through their blob, and one foreign-key check less per insert
            // was measured (bench/README.md).
            e.HasOne<Blob>().WithMany().HasForeignKey(x => new { x.ProjectId, x.BlobId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("buffer_entries_project_id_blob_id_fkey");
            // capacity endpoint: ids of one user's buffer of one type in one status
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.BlobType, x.Status }, "ix_buffer_entries_user_type_status").HasDatabaseName("ix_buffer_entries_user_type_status");
            // threshold sum and idle-time flush scan over idle rows only
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.BlobType, x.CreatedAt }, "ix_buffer_entries_idle").HasDatabaseName("ix_buffer_entries_idle")
                .IncludeProperties(x => x.TokenSize).HasFilter("status = 'idle'");
            e.HasIndex(x => x.JobId, "ix_buffer_entries_job").HasDatabaseName("ix_buffer_entries_job").HasFilter("job_id IS NOT NULL");
            e.HasIndex(x => new { x.ProjectId, x.BlobId }, "ix_buffer_entries_blob").HasDatabaseName("ix_buffer_entries_blob");
        });

        modelBuilder.Entity<FlushJob>(e =>
        {
            e.HasKey(x => x.Id).HasName("flush_jobs_pkey");
            e.ToTable(t => t.HasCheckConstraint("ck_flush_jobs_status", "status IN ('queued', 'running', 'done', 'failed', 'merged')"));
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.BlobType).HasMaxLength(EnumLength);
            e.Property(x => x.Status).HasMaxLength(EnumLength);
            e.Property(x => x.Trigger).HasMaxLength(EnumLength);
            e.Property(x => x.Attempts).HasDefaultValue(0);
            e.Property(x => x.RunAfter).HasDefaultValueSql(Now);
            e.Property(x => x.LeaseOwner).HasMaxLength(WorkerLength);
            e.Property(x => x.EntryCount).HasDefaultValue(0);
            e.Property(x => x.TruncatedCount).HasDefaultValue(0);
            e.Property(x => x.LlmCalls).HasDefaultValue(0);
            e.Property(x => x.PromptTokens).HasDefaultValue(0);
            e.Property(x => x.CompletionTokens).HasDefaultValue(0);
            e.Property(x => x.Result).HasColumnType("jsonb");
            e.Property(x => x.TraceParent).HasMaxLength(TraceParentLength);
            Timestamps(e);
            e.HasOne<User>().WithMany().HasForeignKey(x => new { x.ProjectId, x.UserId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("flush_jobs_project_id_user_id_fkey");
            // single flight: at most one queued and one running job per buffer (project, user, type)
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.BlobType }, "ux_flush_jobs_queued").HasDatabaseName("ux_flush_jobs_queued").IsUnique().HasFilter("status = 'queued'");
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.BlobType }, "ux_flush_jobs_running").HasDatabaseName("ux_flush_jobs_running").IsUnique().HasFilter("status = 'running'");
            e.HasIndex(x => x.RunAfter, "ix_flush_jobs_ready").HasDatabaseName("ix_flush_jobs_ready").HasFilter("status = 'queued'");
            e.HasIndex(x => x.LeaseExpiresAt, "ix_flush_jobs_lease").HasDatabaseName("ix_flush_jobs_lease").HasFilter("status = 'running'");
            e.HasIndex(x => new { x.Status, x.CreatedAt }, "ix_flush_jobs_status_created").HasDatabaseName("ix_flush_jobs_status_created").IsDescending(false, true);
            e.HasIndex(x => new { x.ProjectId, x.UserId }, "ix_flush_jobs_user").HasDatabaseName("ix_flush_jobs_user");
        });

        modelBuilder.Entity<FlushJobAttempt>(e =>
        {
            e.HasKey(x => new { x.JobId, x.Attempt }).HasName("flush_job_attempts_pkey");
            e.Property(x => x.Worker).HasMaxLength(WorkerLength);
            e.Property(x => x.Outcome).HasMaxLength(EnumLength);
            e.Property(x => x.LlmCalls).HasDefaultValue(0);
            e.Property(x => x.PromptTokens).HasDefaultValue(0);
            e.Property(x => x.CompletionTokens).HasDefaultValue(0);
            e.Property(x => x.LlmCallLog).HasColumnType("jsonb");
            e.HasOne<FlushJob>().WithMany().HasForeignKey(x => x.JobId)
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("flush_job_attempts_job_id_fkey");
        });

        modelBuilder.Entity<UserProfile>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("user_profiles_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.Attributes).HasColumnType("jsonb");
            Timestamps(e);
            e.HasOne<User>().WithMany().HasForeignKey(x => new { x.ProjectId, x.UserId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("user_profiles_project_id_user_id_fkey");
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.UpdatedAt }, "ix_user_profiles_user").HasDatabaseName("ix_user_profiles_user").IsDescending(false, false, true);
        });

        modelBuilder.Entity<UserEvent>(e =>
        {
            e.Property(x => x.EmbeddingBits).HasColumnType("bit varying");
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("user_events_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.EventData).HasColumnType("jsonb");
            Timestamps(e);
            e.HasOne<User>().WithMany().HasForeignKey(x => new { x.ProjectId, x.UserId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("user_events_project_id_user_id_fkey");
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.CreatedAt }, "ix_user_events_user_created").HasDatabaseName("ix_user_events_user_created").IsDescending(false, false, true);
            // ix_user_events_tags, a GIN index on the expression (event_data -> 'event_tags'), is raw SQL in the migration.
        });

        modelBuilder.Entity<UserEventGist>(e =>
        {
            e.Property(x => x.EmbeddingBits).HasColumnType("bit varying");
            e.HasKey(x => new { x.ProjectId, x.Id }).HasName("user_event_gists_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.GistData).HasColumnType("jsonb");
            Timestamps(e);
            e.HasOne<User>().WithMany().HasForeignKey(x => new { x.ProjectId, x.UserId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("user_event_gists_project_id_user_id_fkey");
            e.HasOne<UserEvent>().WithMany().HasForeignKey(x => new { x.ProjectId, x.EventId })
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("user_event_gists_project_id_event_id_fkey");
            e.HasIndex(x => new { x.ProjectId, x.UserId, x.CreatedAt }, "ix_user_event_gists_user_created").HasDatabaseName("ix_user_event_gists_user_created").IsDescending(false, false, true);
            e.HasIndex(x => new { x.ProjectId, x.EventId }, "ix_user_event_gists_event").HasDatabaseName("ix_user_event_gists_event");
        });

        modelBuilder.Entity<DataProtectionKey>(e =>
        {
            e.ToTable("data_protection_keys");
            e.HasKey(x => x.Id).HasName("data_protection_keys_pkey");
        });

        modelBuilder.Entity<UsageDaily>(e =>
        {
            e.ToTable("usage_daily");
            e.HasKey(x => new { x.ProjectId, x.Day }).HasName("usage_daily_pkey");
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.TotalInsert).HasDefaultValue(0L);
            e.Property(x => x.TotalSuccessInsert).HasDefaultValue(0L);
            e.Property(x => x.TotalInputToken).HasDefaultValue(0L);
            e.Property(x => x.TotalOutputToken).HasDefaultValue(0L);
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.ProjectId)
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("usage_daily_project_id_fkey");
        });

        modelBuilder.Entity<IdempotencyKey>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.Key }).HasName("idempotency_keys_pkey");
            e.ToTable("idempotency_keys", t => t.HasCheckConstraint("ck_idempotency_keys_status", "status IN ('completed', 'awaiting_flush')"));
            e.Property(x => x.ProjectId).HasMaxLength(ProjectIdLength);
            e.Property(x => x.Key).HasMaxLength(IdempotencyKeyLength);
            e.Property(x => x.RequestHash).HasMaxLength(64);
            e.Property(x => x.Status).HasMaxLength(EnumLength);
            e.Property(x => x.CreatedAt).HasDefaultValueSql(Now);
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.ProjectId)
                .OnDelete(DeleteBehavior.Cascade).HasConstraintName("idempotency_keys_project_id_fkey");
            e.HasIndex(x => x.ExpiresAt, "ix_idempotency_keys_expires").HasDatabaseName("ix_idempotency_keys_expires");
        });

        modelBuilder.Entity<LlmBudgetBucket>(e =>
        {
            e.HasKey(x => x.Name).HasName("llm_budget_buckets_pkey");
            e.Property(x => x.Name).HasMaxLength(64);
            e.Property(x => x.UpdatedAt).HasDefaultValueSql(Now);
        });

        WebhookModel.Configure(modelBuilder);
    }

    private static void Timestamps<T>(EntityTypeBuilder<T> e) where T : class
    {
        e.Property<DateTime>("CreatedAt").HasDefaultValueSql(Now);
        e.Property<DateTime>("UpdatedAt").HasDefaultValueSql(Now);
    }
}
