using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Edge;

public sealed class LlmOutputSanitizingTests(LlmApp app) : IClassFixture<LlmApp>
{
    [Fact]
    public Task An_llm_reply_with_nul_and_control_characters_is_stored_cleaned_and_the_job_succeeds()
        => AssertStoredEventTipAsync("nul-reply-user", FakeReply.Text("- nul-reply-user\u0000 said\u001b something\u0007\tok"),
            "- nul-reply-user said something\tok");

    [Fact]
    public Task An_llm_reply_with_an_escaped_lone_surrogate_is_stored_with_a_replacement_character_and_the_job_succeeds()
        // Raw JSON: a serializer would refuse to write the lone surrogate, a provider's may not.
        => AssertStoredEventTipAsync("lone-surrogate-reply-user", FakeReply.MalformedJson(
                """{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"- lone-surrogate-reply-user said \ud800 and \udc00\ud83d\ude00"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"""),
            "- lone-surrogate-reply-user said \uFFFD and \uFFFD\ud83d\ude00");

    /// <summary>The entry summary of the user whose chat holds <paramref name="marker"/> is <paramref name="reply"/>; the flush succeeds and stores <paramref name="expectedTip"/>.</summary>
    private async Task AssertStoredEventTipAsync(string marker, FakeReply reply, string expectedTip)
    {
        app.Fake.ChatHandler = r => r.User.Contains(marker, StringComparison.Ordinal) && r.Stage == PromptStages.EntrySummary ? reply : FakeReply.Default;
        try
        {
            var client = app.Client();
            var user = await client.CreateUserAsync();
            await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", marker))).Ok();
            var data = await client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
            Assert.NotNull(data!.AsArray().Single()!["event_id"]);
            Assert.Equal(expectedTip, await app.ScalarAsync<string>("SELECT event_data ->> 'event_tip' FROM user_events WHERE user_id = $1", user));
        }
        finally
        {
            app.Fake.ChatHandler = null;
        }
    }

    [Fact]
    public void Stored_text_keeps_what_postgresql_can_store_and_nothing_else()
    {
        (string Input, string Expected)[] cases =
        [
            ("plain text\nwith lines\r\n\tand tabs", "plain text\nwith lines\r\n\tand tabs"),
            ("a\u0000b\u0001c\u001fd", "abcd"),
            ("lone \ud800 high", "lone \uFFFD high"),
            ("lone \udc00 low", "lone \uFFFD low"),
            ("reversed \udc00\ud800", "reversed \uFFFD\uFFFD"),
            ("pair \ud83d\ude00 kept", "pair \ud83d\ude00 kept"),
            ("high at end \ud83d", "high at end \uFFFD"),
        ];
        foreach (var (input, expected) in cases) Assert.Equal(expected, Memobase.Server.Infrastructure.StoredText.Sanitize(input));
    }
}
