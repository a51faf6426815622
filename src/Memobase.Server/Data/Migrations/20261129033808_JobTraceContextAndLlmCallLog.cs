using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Memobase.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class JobTraceContextAndLlmCallLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "trace_parent",
                table: "flush_jobs",
                type: "character varying(128)",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "llm_call_log",
                table: "flush_job_attempts",
                type: "jsonb",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "trace_parent",
                table: "flush_jobs");

            migrationBuilder.DropColumn(
                name: "llm_call_log",
                table: "flush_job_attempts");
        }
    }
}
