using System.Net;
using System.Net.Sockets;

namespace Memobase.Server.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder on a fixed loopback port in front of the shared test PostgreSQL. <see cref="Stop"/> refuses new
/// connections and cuts the open ones, which looks to the server exactly like a database outage, without touching
/// the cluster other tests use; <see cref="Start"/> brings it back on the same port.
/// </summary>
public sealed class TcpProxy(string targetHost, int targetPort) : IDisposable
{
    private TcpListener? _listener;
    private CancellationTokenSource _cts = new();
    private readonly List<TcpClient> _open = [];

    public int Port { get; private set; }

    public void Start()
    {
        _cts = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoop(_listener, _cts.Token);
    }

    public void Stop()
    {
        _cts.Cancel();
        _listener?.Stop();
        lock (_open)
        {
            foreach (var c in _open) c.Dispose();
            _open.Clear();
        }
    }

    private async Task AcceptLoop(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(ct); }
            catch (Exception) { return; }
            _ = Pipe(client, ct);
        }
    }

    private async Task Pipe(TcpClient client, CancellationToken ct)
    {
        var upstream = new TcpClient();
        lock (_open) { _open.Add(client); _open.Add(upstream); }
        try
        {
            await upstream.ConnectAsync(targetHost, targetPort, ct);
            var a = client.GetStream();
            var b = upstream.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, ct), b.CopyToAsync(a, ct));
        }
        catch (Exception) { }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    public void Dispose() => Stop();
}
