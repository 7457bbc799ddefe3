using System.Net;
using System.Net.Sockets;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary><c>cnnlab serve</c>'s options: a bad value is one line and exit code 2 before anything listens.</summary>
public class ServeCommandTests
{
    [Theory]
    [InlineData("--jobs", "0", "cnnlab: --jobs must be between 1 and 64, got 0")]
    [InlineData("--port", "70000", "cnnlab: --port must be between 0 and 65535, got 70000")]
    [InlineData("--host", "bad host!", "cnnlab: --host must be a host name or an IP address, got 'bad host!'")]
    [InlineData("--threads", "0", "cnnlab: --threads must be between 1 and 256, got 0")]
    [InlineData("--data", "/no/such/folder", "cnnlab: --data: folder '/no/such/folder' does not exist")]
    public void ABadOptionIsOneLineAndExitCode2(string option, string value, string message)
    {
        var r = Cli.Run("serve", "--runs", TinyData.TempDir("serve-runs"), option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(message, r.Stderr.Trim());
        Assert.DoesNotContain("token=", r.Stdout);
    }

    [Fact]
    public void APortInUseIsOneLineAndExitCode2()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = Cli.Run("serve", "--runs", TinyData.TempDir("serve-runs"), "--port", portText);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"cnnlab: --port {port}: cannot listen on http://127.0.0.1:{port}: ", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
