using Memobase.Server.Buffers;
using Memobase.Server.Idempotency;
using Memobase.Server.Infrastructure;

namespace Memobase.Server.Processing;

public static class ProcessingRegistration
{
    /// <summary>
    /// The durable flush queue and its worker: <see cref="WorkerOptions"/>, <see cref="JobQueue"/>, <see cref="JobReader"/>,
    /// <see cref="BufferPipeline"/>, <see cref="FlushCoordinator"/> (also as the <see cref="IBufferFlusher"/> every other
    /// feature flushes through, and the <see cref="IFlushJobAwaiter"/> of idempotent replays), <see cref="FlushSignal"/> and the hosted <see cref="FlushWorker"/>.
    /// </summary>
    public static IServiceCollection AddMemobaseProcessing(this IServiceCollection services)
    {
        services.AddMemobaseOptions<WorkerOptions>();
        services.AddSingleton<FlushSignal>();
        services.AddSingleton<JobQueue>();
        services.AddSingleton<JobReader>();
        services.AddSingleton<BufferPipeline>();
        services.AddSingleton<FlushCoordinator>();
        services.AddSingleton<IBufferFlusher>(sp => sp.GetRequiredService<FlushCoordinator>());
        services.AddSingleton<IFlushJobAwaiter>(sp => sp.GetRequiredService<FlushCoordinator>());
        services.AddSingleton<FlushWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<FlushWorker>());
        return services;
    }
}
