using Memobase.Server.Tests.Fakes;

namespace Memobase.Server.Tests.Infrastructure;

/// <summary>A <see cref="MemobaseApp"/> whose LLM (and embeddings) point at its own <see cref="FakeOpenAiServer"/>.</summary>
public class LlmApp : MemobaseApp
{
    public FakeOpenAiServer Fake { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fake = await FakeOpenAiServer.StartAsync();
        With("llm_base_url", Fake.BaseUrl);
        With("llm_api_key", "test-key");
        With("llm_max_retries", "1");
        With("job_max_attempts", "2");
        With("persistent_chat_blobs", "true");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Fake is not null) await Fake.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Polls until <paramref name="condition"/> holds (or fails the test after <paramref name="seconds"/>).</summary>
    public static async Task Eventually(Func<Task<bool>> condition, double seconds = 20, string? because = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail($"Condition not met within {seconds} s{(because is null ? "" : ": " + because)}");
    }
}
