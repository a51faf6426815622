using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Memobase.Server.Processing;

public static class ProcessingRegistration
{
    /// <summary>
    /// Registers <see cref="BufferPipeline"/> (singleton). It needs the LLM services (<c>AddMemobaseLlm</c>), the profile
    /// services (<c>AddMemobaseProfiles</c>) and <c>IOptionsMonitor&lt;BufferOptions&gt;</c>, registered by the host.
    /// </summary>
    public static IServiceCollection AddMemobaseProcessing(this IServiceCollection services)
    {
        services.TryAddSingleton<BufferPipeline>();
        return services;
    }
}
