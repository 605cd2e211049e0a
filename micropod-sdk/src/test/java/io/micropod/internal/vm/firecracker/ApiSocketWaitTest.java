package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.vm.ManagedProcess;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API socket file exists from bind(2) on, before listen(2): the driver must wait until it
 * accepts connections (the stand-in binary hit the gap: "Connection refused" on PUT /logger).
 */
class ApiSocketWaitTest {
  @TempDir
  Path dir;

  @Test
  void theWaitEndsWhenTheSocketAcceptsNotWhenTheFileAppears() throws Exception {
    Path sock = Files.createTempDirectory(Path.of("/tmp"), "mp-api-").resolve("api.sock");
    // binds at once, listens only 700 ms later (a slow VMM between bind and listen)
    String py = "import socket,time,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\n"
        + "time.sleep(0.7)\ns.listen(8)\ntime.sleep(60)\n";
    ManagedProcess p = ManagedProcess.start("test", "bind-then-listen", List.of("python3", "-c", py, sock.toString()),
        dir.resolve("out.log"));
    try {
      ManagedProcess.Await seen = FirecrackerDriver.awaitApi(p, sock, Instant.now().plusSeconds(30));

      assertThat(seen).isEqualTo(ManagedProcess.Await.APPEARED);
      try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
        assertThat(c.isConnected()).isTrue();
      }
    } finally {
      p.kill();
      p.awaitExit(java.time.Duration.ofSeconds(5));
      Files.deleteIfExists(sock);
      Files.deleteIfExists(sock.getParent());
    }
  }

  @Test
  void aProcessThatDiesBeforeListeningIsReportedDead() throws Exception {
    Path sock = Files.createTempDirectory(Path.of("/tmp"), "mp-api-").resolve("api.sock");
    String py = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\nsys.exit(4)\n";
    ManagedProcess p = ManagedProcess.start("test", "bind-then-die", List.of("python3", "-c", py, sock.toString()),
        dir.resolve("out.log"));
    try {
      assertThat(FirecrackerDriver.awaitApi(p, sock, Instant.now().plusSeconds(30)))
          .isEqualTo(ManagedProcess.Await.DIED);
    } finally {
      Files.deleteIfExists(sock);
      Files.deleteIfExists(sock.getParent());
    }
  }
}
