package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.ShutdownRequest;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shaded jar as /init starts it: environment in, gRPC on the socket, exit 0 on Shutdown. */
class AgentMainIT {
  static final Path JAR = Path.of("target/micropod-agent.jar");

  @TempDir Path dir;

  private Process startAgent(Map<String, String> env) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(java, "-jar", JAR.toString());
    pb.environment().keySet().removeIf(k -> k.startsWith("MICROPOD_"));
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("console.log").toFile());
    return pb.start();
  }

  private String console() throws Exception {
    return Files.readString(dir.resolve("console.log"), StandardCharsets.UTF_8);
  }

  @Test
  void servesOnTheSocketFromTheEnvironmentAndExitsZeroAfterShutdown() throws Exception {
    Path socket = dir.resolve("run/agent.sock");
    Process agent = startAgent(Map.of(
        "MICROPOD_AGENT_SOCKET", socket.toString(),
        "MICROPOD_RUNTIME", dir.resolve("no-runc").toString(),
        "MICROPOD_DEBUG", "0"));
    try (TestClient client = new TestClient(socket)) {
      GetInfoResponse info = client.blocking().getInfo(GetInfoRequest.getDefaultInstance());
      assertThat(info.getAgentVersion()).isNotEmpty();
      assertThat(info.getBootTimings().getAgentReadyMs())
          .isGreaterThanOrEqualTo(info.getBootTimings().getAgentMainMs());
      client.blocking().shutdown(ShutdownRequest.getDefaultInstance());
      assertThat(agent.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(agent.exitValue()).isZero();
    } finally {
      agent.destroyForcibly();
    }
    assertThat(console()).contains("serving on " + socket).contains("shutting down");
    assertThat(console()).doesNotContain("WARNING");
  }

  @Test
  void exitsOneNamingTheChannelWhenItCannotBeOpened() throws Exception {
    Path channel = dir.resolve("no-such-port");
    Process agent = startAgent(Map.of(
        "MICROPOD_AGENT_SOCKET", dir.resolve("agent.sock").toString(),
        "MICROPOD_AGENT_CHANNEL", channel.toString()));
    try {
      assertThat(agent.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(agent.exitValue()).isEqualTo(1);
    } finally {
      agent.destroyForcibly();
    }
    assertThat(console()).contains(channel.toString());
  }

  @Test
  void trainModeExitsZero() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process train = new ProcessBuilder(List.of(java, "-jar", JAR.toString(), "--train"))
        .redirectErrorStream(true)
        .redirectOutput(new File(dir.toFile(), "train.log"))
        .start();
    assertThat(train.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(train.exitValue()).as(Files.readString(dir.resolve("train.log"))).isZero();
  }
}
