package io.micropod.agent.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.channel.BulkPort;
import io.micropod.agent.channel.FifoPort;
import io.micropod.agent.runtime.OutputLog;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bulk exec's sink on a port the host stopped reading: the exec's output pump does not hang,
 * the exec ends with the reason (DATA_LOSS in {@link ExecHandler}), and later execs use gRPC.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ExecHandlerBulkSinkTest {
  @TempDir Path dir;

  @Test
  void aStalledPortFailsTheStreamWithItsReasonDropsLaterOutputAndLaterExecsUseGrpc() throws Exception {
    try (FifoPort fifo = FifoPort.in(dir); BulkPort port = BulkPort.open(fifo.path, 300)) {
      Supplier<BulkPort> ports = ExecHandler.lazy(() -> port);
      assertThat(ports.get()).isSameAs(port);
      ExecHandler.BulkSink sink = new ExecHandler.BulkSink(port, 3);
      // the output pump's writes: the first blocks on the full port until the stall closes it
      CompletableFuture<Void> pump = CompletableFuture.runAsync(() -> {
        for (int i = 0; i < 3; i++) {
          sink.write(OutputLog.Stream.STDOUT, ByteBuffer.allocateDirect(BulkPort.MAX_PAYLOAD));
        }
      });
      pump.get(10, TimeUnit.SECONDS);
      assertThat(sink.end()).startsWith("writing the exec's output to the bulk port " + fifo.path + " failed: ")
          .contains("took no bytes for 300 ms");
      assertThat(ports.get()).as("later execs: no bulk port, so gRPC").isNull();
    }
  }

  @Test
  void aPortThatIsReadEndsTheStreamWithNoLoss() throws Exception {
    Path file = Files.createFile(dir.resolve("port"));
    try (BulkPort port = BulkPort.open(file, 300)) {
      ExecHandler.BulkSink sink = new ExecHandler.BulkSink(port, 3);
      sink.write(OutputLog.Stream.STDOUT, ByteBuffer.allocateDirect(10));
      sink.write(OutputLog.Stream.STDERR, new byte[4], 0, 4);
      assertThat(sink.end()).isNull();
    }
    assertThat(Files.size(file)).isEqualTo(3L * BulkPort.HEADER_BYTES + 14);
  }

  @Test
  void outputAfterTheEndFrameIsDroppedSoNoFrameOfTheStreamFollowsItsEndAndTheNextStreamIsIntact()
      throws Exception {
    // the exec's process exited and the output grace passed: the end frame goes out while a
    // background child still holds stdout and writes on (sh -c '(sleep 3; echo late) & echo now')
    Path file = Files.createFile(dir.resolve("port"));
    try (BulkPort port = BulkPort.open(file, 300)) {
      ExecHandler.BulkSink sink = new ExecHandler.BulkSink(port, 3);
      sink.write(OutputLog.Stream.STDOUT, ByteBuffer.allocateDirect(4));
      assertThat(sink.end()).isNull();
      ByteBuffer late = ByteBuffer.allocateDirect(5);
      sink.write(OutputLog.Stream.STDOUT, late);
      sink.write(OutputLog.Stream.STDERR, new byte[6], 0, 6);
      assertThat(late.hasRemaining()).as("dropped bytes are consumed, as a BufferSink must").isFalse();
      assertThat(sink.end()).as("a second end writes nothing and reports no loss").isNull();
      ExecHandler.BulkSink next = new ExecHandler.BulkSink(port, 4);
      next.write(OutputLog.Stream.STDOUT, new byte[7], 0, 7);
      assertThat(next.end()).isNull();
    }
    assertThat(frames(Files.readAllBytes(file))).containsExactly(
        "3:1:4", "3:3:0", "4:1:7", "4:3:0");
  }

  @Test
  void anEndRacingAWriteOfItsStreamIsNeverFollowedByAFrameOfThatStream() throws Exception {
    // the pump of a late-writing child and the exit's end frame run on different threads
    for (int round = 0; round < 50; round++) {
      Path file = dir.resolve("port" + round);
      Files.createFile(file);
      try (BulkPort port = BulkPort.open(file, 300)) {
        ExecHandler.BulkSink sink = new ExecHandler.BulkSink(port, 3);
        CountDownLatch writing = new CountDownLatch(1);
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Void> pump = CompletableFuture.runAsync(() -> {
          while (!stop.get()) {
            sink.write(OutputLog.Stream.STDOUT, new byte[16], 0, 16);
            writing.countDown();
          }
        });
        assertThat(writing.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(sink.end()).isNull();
        for (int i = 0; i < 20; i++) { // the pump goes on writing after the end
          sink.write(OutputLog.Stream.STDERR, new byte[1], 0, 1);
        }
        stop.set(true);
        pump.get(10, TimeUnit.SECONDS);
      }
      List<String> frames = frames(Files.readAllBytes(file));
      assertThat(frames).as("round " + round).last().isEqualTo("3:3:0");
      assertThat(frames).as("round " + round).filteredOn("3:3:0"::equals).hasSize(1);
    }
  }

  /** The frames in {@code bytes} as "stream:kind:length". */
  private static List<String> frames(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    List<String> frames = new ArrayList<>();
    while (b.hasRemaining()) {
      int stream = b.getInt();
      int kind = b.get();
      int length = b.getInt();
      b.position(b.position() + length);
      frames.add(stream + ":" + kind + ":" + length);
    }
    return frames;
  }
}
