using System.Diagnostics;
using Memobase.Server.Observability;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Tests.Observability;

/// <summary>
/// The server's own tracing configuration with an in-memory exporter: one trace from the request that queues a flush,
/// through the job, to each LLM call. Activity sources are process-wide, so spans are picked by the request's trace id.
/// </summary>
public sealed class TracingTests(TracingTests.TracedApp app) : IClassFixture<TracingTests.TracedApp>
{
    [Fact]
    public async Task One_trace_follows_a_flush_from_the_request_through_the_job_to_each_llm_call()
    {
        var client = app.Client();
        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "trace-user: I am Gus and I love tennis"))).Ok();
        using var flush = await client.PostAsync($"/api/v1/users/buffer/{user}/chat", null);
        var jobId = flush.Headers.GetValues("X-Memobase-Job-Id").Single();
        await LlmApp.Eventually(async () => await app.ScalarAsync<string>("SELECT status FROM flush_jobs WHERE id = $1", Guid.Parse(jobId)) == "done");

        Activity job = null!;
        await LlmApp.Eventually(() =>
        {
            job = app.Spans().SingleOrDefault(s => s.DisplayName == "flush_job" && (string?)s.GetTagItem("memobase.job.id") == jobId)!;
            return Task.FromResult(job is not null && app.Spans().Any(s => s.DisplayName == "flush_job complete" && s.ParentSpanId == job.SpanId));
        }, because: "the job's spans are exported");

        var trace = app.Spans().Where(s => s.TraceId == job.TraceId).ToList();
        var request = Assert.Single(trace, s => s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST /api/v1/users/buffer", StringComparison.Ordinal));
        // the job continues the request's trace (context stored with the job) and links to it
        Assert.Equal(request.SpanId, job.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, job.Kind);
        var link = Assert.Single(job.Links);
        Assert.Equal(request.SpanId, link.Context.SpanId);
        Assert.Equal(request.TraceId, link.Context.TraceId);

        Assert.Single(trace, s => s.DisplayName == "flush_job claim" && s.ParentSpanId == job.SpanId);
        Assert.Single(trace, s => s.DisplayName == "flush_job complete" && s.ParentSpanId == job.SpanId);
        var calls = trace.Where(s => s.Source.Name == MemobaseTelemetry.Name && s.Kind == ActivityKind.Client).ToList();
        Assert.Equal(3, calls.Count); // entry summary, extract, merge
        Assert.All(calls, c =>
        {
            Assert.Equal(job.SpanId, c.ParentSpanId);
            Assert.Equal("chat", c.GetTagItem("gen_ai.operation.name"));
            Assert.Equal("openai", c.GetTagItem("gen_ai.provider.name"));
            Assert.Equal("gpt-4o-mini", c.GetTagItem("gen_ai.request.model"));
            Assert.Equal($"chat gpt-4o-mini", c.DisplayName);
            Assert.True((int)c.GetTagItem("gen_ai.usage.input_tokens")! > 0);
            Assert.True((int)c.GetTagItem("gen_ai.usage.output_tokens")! > 0);
            // the outgoing HTTP request of the call is its child
            Assert.Contains(trace, h => h.Source.Name == "System.Net.Http" && h.ParentSpanId == c.SpanId);
        });
        Assert.Equal(["entry_summary", "extract", "merge"], calls.Select(c => (string)c.GetTagItem("memobase.stage")!).Order(StringComparer.Ordinal));
    }

    public sealed class TracedApp : LlmApp
    {
        private readonly List<Activity> _spans = [];

        public IReadOnlyList<Activity> Spans()
        {
            lock (_spans) return [.. _spans];
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(s => s.AddOpenTelemetry().WithTracing(t =>
                ObservabilitySetup.ConfigureTracing(t).AddProcessor(new OpenTelemetry.SimpleActivityExportProcessor(new LockedExporter(_spans)))));
        }

        /// <summary>The in-memory exporter's list, behind a lock (other servers of the run export concurrently).</summary>
        private sealed class LockedExporter(List<Activity> spans) : OpenTelemetry.BaseExporter<Activity>
        {
            private readonly OpenTelemetry.Exporter.InMemoryExporter<Activity> _inner = new(spans);

            public override OpenTelemetry.ExportResult Export(in OpenTelemetry.Batch<Activity> batch)
            {
                lock (spans) return _inner.Export(batch);
            }
        }
    }
}
