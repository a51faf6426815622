using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Memobase.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "projects",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    project_secret = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    profile_config = table.Column<string>(type: "text", nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false, defaultValue: "active"),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("projects_pkey", x => x.project_id);
                });

            migrationBuilder.CreateTable(
                name: "usage_daily",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    day = table.Column<DateOnly>(type: "date", nullable: false),
                    total_insert = table.Column<long>(type: "bigint", nullable: false, defaultValue: 0L),
                    total_success_insert = table.Column<long>(type: "bigint", nullable: false, defaultValue: 0L),
                    total_input_token = table.Column<long>(type: "bigint", nullable: false, defaultValue: 0L),
                    total_output_token = table.Column<long>(type: "bigint", nullable: false, defaultValue: 0L)
                },
                constraints: table =>
                {
                    table.PrimaryKey("usage_daily_pkey", x => new { x.project_id, x.day });
                    table.ForeignKey(
                        name: "usage_daily_project_id_fkey",
                        column: x => x.project_id,
                        principalTable: "projects",
                        principalColumn: "project_id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "users",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    additional_fields = table.Column<string>(type: "jsonb", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("users_pkey", x => new { x.project_id, x.id });
                    table.ForeignKey(
                        name: "users_project_id_fkey",
                        column: x => x.project_id,
                        principalTable: "projects",
                        principalColumn: "project_id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "blobs",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    blob_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    blob_data = table.Column<string>(type: "jsonb", nullable: false),
                    additional_fields = table.Column<string>(type: "jsonb", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("blobs_pkey", x => new { x.project_id, x.id });
                    table.ForeignKey(
                        name: "blobs_project_id_user_id_fkey",
                        columns: x => new { x.project_id, x.user_id },
                        principalTable: "users",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "flush_jobs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    blob_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    trigger = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    max_attempts = table.Column<int>(type: "integer", nullable: false),
                    run_after = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    lease_owner = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    lease_expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    last_errno = table.Column<int>(type: "integer", nullable: true),
                    merged_into = table.Column<Guid>(type: "uuid", nullable: true),
                    entry_count = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    truncated_count = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    llm_calls = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    prompt_tokens = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    completion_tokens = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    llm_ms = table.Column<int>(type: "integer", nullable: true),
                    processing_ms = table.Column<int>(type: "integer", nullable: true),
                    result = table.Column<string>(type: "jsonb", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    started_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("flush_jobs_pkey", x => x.id);
                    table.CheckConstraint("ck_flush_jobs_status", "status IN ('queued', 'running', 'done', 'failed', 'merged')");
                    table.ForeignKey(
                        name: "flush_jobs_project_id_user_id_fkey",
                        columns: x => new { x.project_id, x.user_id },
                        principalTable: "users",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "user_events",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    event_data = table.Column<string>(type: "jsonb", nullable: false),
                    embedding = table.Column<float[]>(type: "real[]", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("user_events_pkey", x => new { x.project_id, x.id });
                    table.ForeignKey(
                        name: "user_events_project_id_user_id_fkey",
                        columns: x => new { x.project_id, x.user_id },
                        principalTable: "users",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "user_profiles",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    content = table.Column<string>(type: "text", nullable: false),
                    attributes = table.Column<string>(type: "jsonb", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("user_profiles_pkey", x => new { x.project_id, x.id });
                    table.ForeignKey(
                        name: "user_profiles_project_id_user_id_fkey",
                        columns: x => new { x.project_id, x.user_id },
                        principalTable: "users",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "buffer_entries",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    seq = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    blob_id = table.Column<Guid>(type: "uuid", nullable: false),
                    blob_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    token_size = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false, defaultValue: "idle"),
                    job_id = table.Column<Guid>(type: "uuid", nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    processed_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("buffer_entries_pkey", x => new { x.project_id, x.id });
                    table.UniqueConstraint("ux_buffer_entries_seq", x => x.seq);
                    table.CheckConstraint("ck_buffer_entries_status", "status IN ('idle', 'processing', 'done', 'failed')");
                    table.ForeignKey(
                        name: "buffer_entries_project_id_blob_id_fkey",
                        columns: x => new { x.project_id, x.blob_id },
                        principalTable: "blobs",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "flush_job_attempts",
                columns: table => new
                {
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    attempt = table.Column<int>(type: "integer", nullable: false),
                    worker = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    outcome = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    error = table.Column<string>(type: "text", nullable: true),
                    llm_calls = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    prompt_tokens = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    completion_tokens = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    started_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("flush_job_attempts_pkey", x => new { x.job_id, x.attempt });
                    table.ForeignKey(
                        name: "flush_job_attempts_job_id_fkey",
                        column: x => x.job_id,
                        principalTable: "flush_jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "user_event_gists",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    gist_data = table.Column<string>(type: "jsonb", nullable: false),
                    embedding = table.Column<float[]>(type: "real[]", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("user_event_gists_pkey", x => new { x.project_id, x.id });
                    table.ForeignKey(
                        name: "user_event_gists_project_id_event_id_fkey",
                        columns: x => new { x.project_id, x.event_id },
                        principalTable: "user_events",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "user_event_gists_project_id_user_id_fkey",
                        columns: x => new { x.project_id, x.user_id },
                        principalTable: "users",
                        principalColumns: new[] { "project_id", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "projects",
                columns: new[] { "project_id", "created_at", "profile_config", "project_secret", "status", "updated_at" },
                values: new object[] { "__root__", new DateTime(2026, 11, 21, 0, 0, 0, 0, DateTimeKind.Utc), null, "__root__", "active", new DateTime(2026, 11, 21, 0, 0, 0, 0, DateTimeKind.Utc) });

            migrationBuilder.CreateIndex(
                name: "ix_blobs_user_type_created",
                table: "blobs",
                columns: new[] { "project_id", "user_id", "blob_type", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_buffer_entries_blob",
                table: "buffer_entries",
                columns: new[] { "project_id", "blob_id" });

            migrationBuilder.CreateIndex(
                name: "ix_buffer_entries_idle",
                table: "buffer_entries",
                columns: new[] { "project_id", "user_id", "blob_type", "created_at" },
                filter: "status = 'idle'")
                .Annotation("Npgsql:IndexInclude", new[] { "token_size" });

            migrationBuilder.CreateIndex(
                name: "ix_buffer_entries_job",
                table: "buffer_entries",
                column: "job_id",
                filter: "job_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_buffer_entries_user_type_status",
                table: "buffer_entries",
                columns: new[] { "project_id", "user_id", "blob_type", "status" });

            migrationBuilder.CreateIndex(
                name: "ix_flush_jobs_lease",
                table: "flush_jobs",
                column: "lease_expires_at",
                filter: "status = 'running'");

            migrationBuilder.CreateIndex(
                name: "ix_flush_jobs_ready",
                table: "flush_jobs",
                column: "run_after",
                filter: "status = 'queued'");

            migrationBuilder.CreateIndex(
                name: "ix_flush_jobs_status_created",
                table: "flush_jobs",
                columns: new[] { "status", "created_at" },
                descending: new[] { false, true });

            migrationBuilder.CreateIndex(
                name: "ix_flush_jobs_user",
                table: "flush_jobs",
                columns: new[] { "project_id", "user_id" });

            migrationBuilder.CreateIndex(
                name: "ux_flush_jobs_queued",
                table: "flush_jobs",
                columns: new[] { "project_id", "user_id", "blob_type" },
                unique: true,
                filter: "status = 'queued'");

            migrationBuilder.CreateIndex(
                name: "ux_flush_jobs_running",
                table: "flush_jobs",
                columns: new[] { "project_id", "user_id", "blob_type" },
                unique: true,
                filter: "status = 'running'");

            migrationBuilder.CreateIndex(
                name: "ix_user_event_gists_event",
                table: "user_event_gists",
                columns: new[] { "project_id", "event_id" });

            migrationBuilder.CreateIndex(
                name: "ix_user_event_gists_user_created",
                table: "user_event_gists",
                columns: new[] { "project_id", "user_id", "created_at" },
                descending: new[] { false, false, true });

            migrationBuilder.CreateIndex(
                name: "ix_user_events_user_created",
                table: "user_events",
                columns: new[] { "project_id", "user_id", "created_at" },
                descending: new[] { false, false, true });

            migrationBuilder.CreateIndex(
                name: "ix_user_profiles_user",
                table: "user_profiles",
                columns: new[] { "project_id", "user_id", "updated_at" },
                descending: new[] { false, false, true });

            migrationBuilder.CreateIndex(
                name: "ix_users_project_updated",
                table: "users",
                columns: new[] { "project_id", "updated_at" },
                descending: new[] { false, true });

            migrationBuilder.Sql("CREATE INDEX ix_user_events_tags ON user_events USING gin ((event_data -> 'event_tags') jsonb_path_ops);");

            migrationBuilder.Sql(VectorFunctions.CreateCosineSimilarity);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(VectorFunctions.DropCosineSimilarity);

            migrationBuilder.DropTable(
                name: "buffer_entries");

            migrationBuilder.DropTable(
                name: "flush_job_attempts");

            migrationBuilder.DropTable(
                name: "usage_daily");

            migrationBuilder.DropTable(
                name: "user_event_gists");

            migrationBuilder.DropTable(
                name: "user_profiles");

            migrationBuilder.DropTable(
                name: "blobs");

            migrationBuilder.DropTable(
                name: "flush_jobs");

            migrationBuilder.DropTable(
                name: "user_events");

            migrationBuilder.DropTable(
                name: "users");

            migrationBuilder.DropTable(
                name: "projects");
        }
    }
}
