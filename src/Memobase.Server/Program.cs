using Memobase.Server.Hosting;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.AddMemobase();

var app = builder.Build();
try
{
    // Refuse to start on bad configuration with one clear line (not a stack trace from the host).
    app.Services.GetRequiredService<IStartupValidator>().Validate();
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync($"memobase-server: configuration error: {string.Join(" ", ex.Failures)}");
    return 1;
}

app.UseMemobase();
app.MapMemobaseEndpoints();
await app.RunAsync();
return 0;

public partial class Program;
