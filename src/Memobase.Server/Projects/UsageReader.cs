using System.Globalization;
using Memobase.Server.Data;
using Npgsql;

namespace Memobase.Server.Projects;

public sealed record DailyUsage(string Date, long TotalInsert, long TotalSuccessInsert, long TotalInputToken, long TotalOutputToken);

/// <summary>LLM tokens of one project over a window of days.</summary>
public sealed record ProjectTokens(string ProjectId, long InputTokens, long OutputTokens)
{
    public long Total => InputTokens + OutputTokens;
}

/// <summary>Reads <c>usage_daily</c> (after writing this process's pending counters, so the figures are current).</summary>
public sealed class UsageReader(NpgsqlDataSource db, UsageRecorder usage, TimeProvider clock)
{
    /// <summary>One element per UTC day of the last <paramref name="days"/> days, today first, zeros for days without activity.</summary>
    /// <param name="projectId">One project, or null for the sum over every project.</param>
    public async Task<List<DailyUsage>> DailyAsync(string? projectId, int days, CancellationToken ct)
    {
        await usage.FlushAsync(ct);
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var from = today.AddDays(-Math.Max(0, days - 1));
        var byDay = new Dictionary<DateOnly, DailyUsage>();
        await using (var cmd = db.CreateCommand("""
            SELECT day, sum(total_insert)::bigint, sum(total_success_insert)::bigint, sum(total_input_token)::bigint, sum(total_output_token)::bigint
            FROM usage_daily WHERE ($1::text IS NULL OR project_id = $1) AND day BETWEEN $2 AND $3
            GROUP BY day
            """))
        {
            Sql.Add(cmd.Parameters, Sql.Text(projectId), from, today);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var day = reader.GetFieldValue<DateOnly>(0);
                byDay[day] = new DailyUsage(Format(day), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
            }
        }
        var result = new List<DailyUsage>(Math.Max(0, days));
        for (var i = 0; i < days; i++)
        {
            var day = today.AddDays(-i);
            result.Add(byDay.TryGetValue(day, out var u) ? u : new DailyUsage(Format(day), 0, 0, 0, 0));
        }
        return result;
    }

    /// <summary>The projects that spent the most LLM tokens in the last <paramref name="days"/> days, most first.</summary>
    public async Task<List<ProjectTokens>> TopProjectsAsync(int days, int limit, CancellationToken ct)
    {
        await usage.FlushAsync(ct);
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        await using var cmd = Sql.Command(db, """
            SELECT project_id, sum(total_input_token)::bigint AS i, sum(total_output_token)::bigint AS o
            FROM usage_daily WHERE day >= $1
            GROUP BY project_id HAVING sum(total_input_token + total_output_token) > 0
            ORDER BY sum(total_input_token + total_output_token) DESC, project_id LIMIT $2
            """, today.AddDays(-Math.Max(0, days - 1)), limit);
        var list = new List<ProjectTokens>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) list.Add(new ProjectTokens(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        return list;
    }

    private static string Format(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
