# Memobase server (C# / ASP.NET Core). Build: docker build -t memobase-server-dotnet .
# Run:   docker run -p 8019:8000 -e DATABASE_URL=postgres://user:pw@host:5432/memobase -e ACCESS_TOKEN=... memobase-server-dotnet

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# restore first (cached layer while only sources change); global.json is left out on purpose
# (see .dockerignore) so the image's own 10.0 SDK is used whatever its feature band.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Memobase.Server/Memobase.Server.csproj src/Memobase.Server/
RUN dotnet restore src/Memobase.Server/Memobase.Server.csproj
COPY src/ src/
RUN dotnet publish src/Memobase.Server/Memobase.Server.csproj -c Release -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# upstream's container port; the base image's ASPNETCORE_HTTP_PORTS=8080 is cleared to avoid the
# "overriding HTTP_PORTS" warning
ENV ASPNETCORE_URLS=http://0.0.0.0:8000 \
    ASPNETCORE_HTTP_PORTS= \
    DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
EXPOSE 8000
# non-root user that the official .NET images ship (uid 1654)
USER $APP_UID
# No curl/wget in the aspnet image: bash's /dev/tcp sends a plain HTTP/1.0 GET and expects 200.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /api/v1/healthcheck HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Memobase.Server.dll"]
