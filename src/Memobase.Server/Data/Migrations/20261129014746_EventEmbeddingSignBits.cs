using System.Collections;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Memobase.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class EventEmbeddingSignBits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<BitArray>(
                name: "embedding_bits",
                table: "user_events",
                type: "bit varying",
                nullable: true);

            migrationBuilder.AddColumn<BitArray>(
                name: "embedding_bits",
                table: "user_event_gists",
                type: "bit varying",
                nullable: true);

            // The same bits as Events.SignCode.Of: 1 where the value is positive. The server writes them with every
            // embedding; the back-fill covers existing rows and the trigger any writer that leaves them out.
            migrationBuilder.Sql("""
                CREATE FUNCTION memobase_sign_bits(a real[]) RETURNS bit varying
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                AS $$
                    SELECT array_to_string(array(
                        SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END FROM unnest(a) WITH ORDINALITY AS t(x, i) ORDER BY i), '')::bit varying
                $$;

                UPDATE user_events SET embedding_bits = memobase_sign_bits(embedding) WHERE embedding IS NOT NULL;
                UPDATE user_event_gists SET embedding_bits = memobase_sign_bits(embedding) WHERE embedding IS NOT NULL;

                CREATE FUNCTION memobase_fill_embedding_bits() RETURNS trigger
                LANGUAGE plpgsql
                AS $$
                BEGIN
                    IF NEW.embedding IS NULL THEN
                        NEW.embedding_bits := NULL;
                    ELSIF NEW.embedding_bits IS NULL
                       OR (TG_OP = 'UPDATE' AND NEW.embedding IS DISTINCT FROM OLD.embedding
                           AND NEW.embedding_bits IS NOT DISTINCT FROM OLD.embedding_bits) THEN
                        NEW.embedding_bits := memobase_sign_bits(NEW.embedding);
                    END IF;
                    RETURN NEW;
                END
                $$;

                CREATE TRIGGER user_events_embedding_bits BEFORE INSERT OR UPDATE OF embedding, embedding_bits ON user_events
                    FOR EACH ROW EXECUTE FUNCTION memobase_fill_embedding_bits();
                CREATE TRIGGER user_event_gists_embedding_bits BEFORE INSERT OR UPDATE OF embedding, embedding_bits ON user_event_gists
                    FOR EACH ROW EXECUTE FUNCTION memobase_fill_embedding_bits();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS user_events_embedding_bits ON user_events;
                DROP TRIGGER IF EXISTS user_event_gists_embedding_bits ON user_event_gists;
                DROP FUNCTION IF EXISTS memobase_fill_embedding_bits();
                DROP FUNCTION IF EXISTS memobase_sign_bits(real[]);
                """);

            migrationBuilder.DropColumn(
                name: "embedding_bits",
                table: "user_events");

            migrationBuilder.DropColumn(
                name: "embedding_bits",
                table: "user_event_gists");
        }
    }
}
