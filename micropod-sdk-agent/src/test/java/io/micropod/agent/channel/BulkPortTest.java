package io.micropod.agent.channel;

import static org.assertj.core.api.Assertions.assertThat;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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

  @Test
  void aDirectBufferGoesOutAsFramesOfAtMostTheMaximumAndIsConsumed() throws IOException {
    Path bulk = port("vport0p2", BulkPort.NAME);
    ByteBuffer data = ByteBuffer.allocateDirect(BulkPort.MAX_PAYLOAD + 3);
    data.put(BulkPort.MAX_PAYLOAD, (byte) 9).position(1); // the first byte is not sent
    try (BulkPort p = BulkPort.find(dir.resolve("sys"), dir.resolve("dev"))) {
      p.write(5, BulkPort.STDOUT, data);
    }
    assertThat(data.hasRemaining()).isFalse();
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(bulk));
    assertThat(b.getInt()).isEqualTo(5);
    assertThat(b.get()).isEqualTo((byte) BulkPort.STDOUT);
    assertThat(b.getInt()).isEqualTo(BulkPort.MAX_PAYLOAD);
    b.position(b.position() + BulkPort.MAX_PAYLOAD - 1);
    assertThat(b.get()).as("byte MAX_PAYLOAD of the buffer, last of the first frame").isEqualTo((byte) 9);
    assertThat(b.getInt()).isEqualTo(5);
    assertThat(b.get()).isEqualTo((byte) BulkPort.STDOUT);
    assertThat(b.getInt()).isEqualTo(2);
    b.position(b.position() + 2);
    assertThat(b.hasRemaining()).isFalse();
  }

  @Test
  void aWriteTheHostDoesNotReadFailsAfterTheStallTimeAndSoDoesEveryLaterOne() throws Exception {
    // a host that connected and stopped reading: the FIFO's 64 KiB fill, then writes block
    try (FifoPort fifo = FifoPort.in(dir); BulkPort p = BulkPort.open(fifo.path, 300)) {
      assertThat(p.usable()).isTrue();
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> p.write(1, BulkPort.STDOUT, new byte[BulkPort.MAX_PAYLOAD], 0, BulkPort.MAX_PAYLOAD))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("took no bytes for 300 ms");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(300L, 10_000L);
      assertThat(p.usable()).isFalse();
      assertThatThrownBy(() -> p.end(1)).hasMessageContaining("took no bytes");
    }
  }

  @Test
  void aHostThatReadsSlowlyButSteadilyIsNotAStallThoughTheFramesTakeLongerThanTheStallTime()
      throws Exception {
    long total = 4L * (BulkPort.HEADER_BYTES + BulkPort.MAX_PAYLOAD);
    try (FifoPort fifo = FifoPort.in(dir); BulkPort p = BulkPort.open(fifo.path, 200)) {
      long[] got = new long[1];
      Thread reader = new Thread(() -> {
        ByteBuffer b = ByteBuffer.allocate(16 * 1024); // 256 reads of 16 KiB, 5 ms apart: ~1.3 s
        try {
          while (got[0] < total) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            got[0] += fifo.host.read(b.clear());
          }
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      });
      reader.start();
      long t0 = System.nanoTime();
      for (int i = 0; i < 4; i++) {
        p.write(1, BulkPort.STDOUT, ByteBuffer.allocateDirect(BulkPort.MAX_PAYLOAD));
      }
      reader.join(20_000);
      assertThat(got[0]).isEqualTo(total);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isGreaterThan(200L);
      assertThat(p.usable()).isTrue();
    }
  }
}
