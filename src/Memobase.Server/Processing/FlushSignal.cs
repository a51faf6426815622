using System.Threading.Channels;

namespace Memobase.Server.Processing;

/// <summary>
/// Wakes idle worker loops early. It carries no work: the queue is the flush_jobs table, and a lost or extra signal
/// only changes how soon a loop polls it.
/// </summary>
public sealed class FlushSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public void Wake() => _channel.Writer.TryWrite(true);

    /// <summary>Waits until woken or until <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await _channel.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }
}
