package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The direct pump: a pipe read into a direct buffer and handed to a {@link BufferSink}. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StreamPumpTest {
  /** Records what it gets and whether every buffer was direct. */
  private static final class Recording implements BufferSink {
    final ByteArrayOutputStream got = new ByteArrayOutputStream();
    volatile boolean allDirect = true;
    volatile int largest;

    @Override
    public void write(OutputLog.Stream stream, ByteBuffer data) {
      allDirect &= data.isDirect() && stream == OutputLog.Stream.STDOUT;
      largest = Math.max(largest, data.remaining());
      byte[] b = new byte[data.remaining()];
      data.get(b);
      synchronized (got) {
        got.write(b, 0, b.length);
      }
    }

    @Override
    public void write(OutputLog.Stream stream, byte[] data, int offset, int length) {
      allDirect = false;
    }
  }

  @Test
  void aDirectPumpHandsEveryByteInOrderInDirectBuffersNoLargerThanAskedAndClosesThePipe()
      throws Exception {
    Pipe pipe = Pipe.open();
    Recording sink = new Recording();
    CompletableFuture<Void> done =
        StreamPump.startDirect(pipe.source(), OutputLog.Stream.STDOUT, sink, "test-pump", 4096);
    byte[] data = new byte[1 << 20];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31 + (i >> 12));
    }
    ByteBuffer out = ByteBuffer.wrap(data);
    while (out.hasRemaining()) {
      pipe.sink().write(out);
    }
    pipe.sink().close();
    done.get(20, TimeUnit.SECONDS);
    assertThat(sink.got.toByteArray()).isEqualTo(data);
    assertThat(sink.allDirect).isTrue();
    assertThat(sink.largest).isBetween(1, 4096);
    assertThat(pipe.source().isOpen()).as("the pump closed its pipe at EOF").isFalse();
  }

  @Test
  void aSinkThatFailsEndsThePumpAndItsFutureCompletes() throws Exception {
    Pipe pipe = Pipe.open();
    BufferSink failing = new BufferSink() {
      @Override
      public void write(OutputLog.Stream stream, ByteBuffer data) {
        throw new IllegalStateException("sink broke");
      }

      @Override
      public void write(OutputLog.Stream stream, byte[] data, int offset, int length) {}
    };
    CompletableFuture<Void> done =
        StreamPump.startDirect(pipe.source(), OutputLog.Stream.STDOUT, failing, "test-pump", 4096);
    pipe.sink().write(ByteBuffer.wrap(new byte[] {1}));
    done.get(20, TimeUnit.SECONDS);
    assertThat(pipe.source().isOpen()).isFalse();
    pipe.sink().close();
  }
}
