package io.micropod.agent.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.channel.BulkPort;
import io.micropod.agent.channel.FifoPort;
import io.micropod.agent.runtime.OutputLog;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
}
