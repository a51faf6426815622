using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Memobase.Server.Data.Migrations
{
    /// <summary>
    /// Re-creates the two status CHECK constraints from the model's text. Databases created by the hand-written
    /// migrations (before the EF baseline) hold them in another, equivalent form (PostgreSQL normalised the same
    /// expression differently), so after this step an upgraded schema is identical to a fresh one. On a fresh database
    /// the constraints are dropped and added unchanged.
    /// </summary>
    public partial class RecreateStatusChecks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(name: "ck_buffer_entries_status", table: "buffer_entries");
            migrationBuilder.AddCheckConstraint(name: "ck_buffer_entries_status", table: "buffer_entries",
                sql: "status IN ('idle', 'processing', 'done', 'failed')");
            migrationBuilder.DropCheckConstraint(name: "ck_flush_jobs_status", table: "flush_jobs");
            migrationBuilder.AddCheckConstraint(name: "ck_flush_jobs_status", table: "flush_jobs",
                sql: "status IN ('queued', 'running', 'done', 'failed', 'merged')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Nothing to undo: the constraints are the same before and after, only their stored form may differ.
        }
    }
}
