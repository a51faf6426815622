namespace Memobase.Server.Llm;

/// <summary>
/// The innermost handler of the LLM and embedding HTTP clients, run once per attempt: it reads the whole response body
/// (so the resilience handler's attempt timeout covers it) and repairs unpaired surrogate escapes in it
/// (<see cref="ProviderJson"/>) before any JSON parser sees it.
/// </summary>
internal sealed class ProviderResponseHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var repaired = ProviderJson.ReplaceLoneSurrogateEscapes(body);
            if (!ReferenceEquals(repaired, body))
            {
                var content = new ByteArrayContent(repaired);
                foreach (var header in response.Content.Headers) content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                response.Content.Dispose();
                response.Content = content;
            }
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
