package io.micropod.agent.channel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The guest end of the bulk port, on a stand-in sysfs and device (a plain file). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BulkPortTest {
  @TempDir
  Path dir;

  private Path port(String vport, String name) throws IOException {
    Path sys = Files.createDirectories(dir.resolve("sys").resolve(vport));
    Files.writeString(sys.resolve("name"), name + "\n");
    return Files.createFile(Files.createDirectories(dir.resolve("dev")).resolve(vport));
  }

  @Test
  void findsThePortByItsNameAndNotTheAgentPort() throws IOException {
    port("vport0p1", "io.micropod.agent.0");
    Path bulk = port("vport0p2", BulkPort.NAME);
    try (BulkPort p = BulkPort.find(dir.resolve("sys"), dir.resolve("dev"))) {
      assertThat(p).hasToString("bulk port " + bulk);
    }
  }

  @Test
  void noBulkPortIsNullSoExecOutputStaysOnGrpc() throws IOException {
    port("vport0p1", "io.micropod.agent.0");
    assertThat(BulkPort.find(dir.resolve("sys"), dir.resolve("dev"))).isNull();
    assertThat(BulkPort.find(dir.resolve("no-sysfs"), dir.resolve("dev"))).isNull();
  }

  @Test
  void framesCarryStreamKindLengthAndLongWritesAreSplitAtTheMaximum() throws IOException {
    Path bulk = port("vport0p2", BulkPort.NAME);
    byte[] big = new byte[BulkPort.MAX_PAYLOAD + 5];
    big[big.length - 1] = 42;
    try (BulkPort p = BulkPort.find(dir.resolve("sys"), dir.resolve("dev"))) {
      p.write(7, BulkPort.STDERR, "hi".getBytes(), 0, 2);
      p.write(7, BulkPort.STDOUT, big, 0, big.length);
      p.end(7);
    }
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(bulk));
    assertThat(b.getInt()).isEqualTo(7);
    assertThat(b.get()).isEqualTo((byte) BulkPort.STDERR);
    assertThat(b.getInt()).isEqualTo(2);
    b.position(b.position() + 2);
    assertThat(b.getInt()).isEqualTo(7);
    assertThat(b.get()).isEqualTo((byte) BulkPort.STDOUT);
    assertThat(b.getInt()).isEqualTo(BulkPort.MAX_PAYLOAD);
    b.position(b.position() + BulkPort.MAX_PAYLOAD);
    assertThat(b.getInt()).isEqualTo(7);
    assertThat(b.get()).isEqualTo((byte) BulkPort.STDOUT);
    assertThat(b.getInt()).isEqualTo(5);
    b.position(b.position() + 4);
    assertThat(b.get()).isEqualTo((byte) 42);
    assertThat(b.getInt()).isEqualTo(7);
    assertThat(b.get()).isEqualTo((byte) BulkPort.END);
    assertThat(b.getInt()).isZero();
    assertThat(b.hasRemaining()).isFalse();
  }
}
