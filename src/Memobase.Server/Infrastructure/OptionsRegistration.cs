using Microsoft.Extensions.Options;

namespace Memobase.Server.Infrastructure;

public static class OptionsRegistration
{
    /// <summary>Binds <typeparamref name="T"/> from the configuration section every <c>memobase</c> key lives in, validated on start.</summary>
    public static OptionsBuilder<T> AddMemobaseOptions<T>(this IServiceCollection services) where T : class
        => services.AddOptions<T>().BindConfiguration(UpstreamConfiguration.Section).ValidateDataAnnotations().ValidateOnStart();
}
