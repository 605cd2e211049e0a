package io.micropod.agent.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.agent.GuestC;
import io.micropod.agent.Poll;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real micropod-bulk (compiled here with gcc) against {@link BulkDaemon}: FIFOs stand in for
 * an exec's pipes (the daemon opens them by path, as it opens /proc/broker/fd/N), a plain file
 * for the port (splice into a file works as into the virtio port). The frames must be exactly
 * what the host's BulkChannel decodes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BulkDaemonTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static Path binary;

  @TempDir Path dir;
  private Path port;
  private BulkDaemon daemon;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeAll
  static void compile(@TempDir Path out) throws Exception {
    binary = GuestC.compile("micropod-bulk", out);
  }

  @BeforeEach
  void startDaemon() throws IOException {
    port = Files.createFile(dir.resolve("port"));
    daemon = BulkDaemon.start(binary, port.toString());
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    daemon.close();
  }

  /** A FIFO held open for writing (O_RDWR: no wait for a reader), standing in for a pipe. */
  private RandomAccessFile pipe(String name) throws Exception {
    Path fifo = dir.resolve(name);
    Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    RandomAccessFile f = new RandomAccessFile(fifo.toFile(), "rw");
    open.add(f);
    return f;
  }

  private record Frame(long stream, int kind, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  private List<Frame> frames() throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(port));
    List<Frame> out = new ArrayList<>();
    while (b.remaining() >= BulkPort.HEADER_BYTES) {
      int start = b.position();
      long stream = Integer.toUnsignedLong(b.getInt());
      int kind = b.get();
      int length = b.getInt();
      assertThat(length).isBetween(0, BulkPort.MAX_PAYLOAD);
      if (b.remaining() < length) {
        b.position(start);
        break;
      }
      byte[] data = new byte[length];
      b.get(data);
      out.add(new Frame(stream, kind, data));
    }
    return out;
  }

  private List<Frame> awaitFrames(int count) {
    List<List<Frame>> seen = new ArrayList<>(List.of(List.of()));
    Poll.until(count + " frames on the port", WAIT, () -> {
      try {
        seen.set(0, frames());
      } catch (IOException e) {
        throw new AssertionError(e);
      }
      return seen.get(0).size() >= count;
    });
    return seen.get(0);
  }

  private static void write(RandomAccessFile pipe, String text) throws IOException {
    pipe.write(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void framesOfTwoInterleavedStreamsEachEndOnlyAfterBothOfItsPipesReachedEof() throws Exception {
    RandomAccessFile aOut = pipe("a-out");
    RandomAccessFile aErr = pipe("a-err");
    RandomAccessFile bOut = pipe("b-out");
    RandomAccessFile bErr = pipe("b-err");
    int a = 0x80000001; // ids are random u32s: above Integer.MAX_VALUE too
    int b = 7;
    CompletableFuture<Void> aEnded = daemon.take(a, dir.resolve("a-out").toString(), dir.resolve("a-err").toString());
    CompletableFuture<Void> bEnded = daemon.take(b, dir.resolve("b-out").toString(), dir.resolve("b-err").toString());
    write(aOut, "a1");
    awaitFrames(1);
    write(bErr, "b-oops");
    awaitFrames(2);
    write(aErr, "a-oops");
    awaitFrames(3);
    write(bOut, "b1");
    awaitFrames(4);
    aOut.close();
    write(aErr, "a-last");
    awaitFrames(5);
    assertThat(aEnded).isNotDone(); // a's stderr is still open
    aErr.close();
    aEnded.get(20, TimeUnit.SECONDS);
    bOut.close();
    assertThat(bEnded).isNotDone();
    bErr.close();
    bEnded.get(20, TimeUnit.SECONDS);

    List<Frame> f = awaitFrames(7);
    assertThat(f).extracting(Frame::stream, Frame::kind, Frame::text).containsExactly(
        org.assertj.core.groups.Tuple.tuple(0x80000001L, BulkPort.STDOUT, "a1"),
        org.assertj.core.groups.Tuple.tuple(7L, BulkPort.STDERR, "b-oops"),
        org.assertj.core.groups.Tuple.tuple(0x80000001L, BulkPort.STDERR, "a-oops"),
        org.assertj.core.groups.Tuple.tuple(7L, BulkPort.STDOUT, "b1"),
        org.assertj.core.groups.Tuple.tuple(0x80000001L, BulkPort.STDERR, "a-last"),
        org.assertj.core.groups.Tuple.tuple(0x80000001L, BulkPort.END, ""),
        org.assertj.core.groups.Tuple.tuple(7L, BulkPort.END, ""));
    assertThat(daemon.broken()).isNull();
  }

  @Test
  void aPipeHoldingMoreThanAFrameMayCarryIsSentInFramesOfTheMaximum() throws Exception {
    // an unprivileged pipe holds at most 1 MiB (the real maximum), so this daemon's frames carry
    // at most 16 KiB and the pipe holds 40000 bytes when the daemon takes it
    daemon.close();
    Files.write(port, new byte[0]);
    daemon = BulkDaemon.start(binary, port.toString(), 16384);
    RandomAccessFile out = pipe("out");
    RandomAccessFile err = pipe("err");
    byte[] data = new byte[40000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i % 251);
    }
    out.write(data);
    CompletableFuture<Void> ended = daemon.take(3, dir.resolve("out").toString(), dir.resolve("err").toString());
    awaitFrames(3);
    out.close();
    err.close();
    ended.get(20, TimeUnit.SECONDS);
    List<Frame> f = awaitFrames(4);
    assertThat(f).extracting(Frame::kind).containsExactly(
        BulkPort.STDOUT, BulkPort.STDOUT, BulkPort.STDOUT, BulkPort.END);
    assertThat(f).extracting(x -> x.data().length).containsExactly(16384, 16384, 40000 - 2 * 16384, 0);
    byte[] all = new byte[data.length];
    for (int i = 0, off = 0; i < 3; off += f.get(i).data().length, i++) {
      System.arraycopy(f.get(i).data(), 0, all, off, f.get(i).data().length);
    }
    assertThat(Arrays.equals(all, data)).as("the bytes, in order").isTrue();
  }

  @Test
  void aFrameLimitAboveOneMebibyteIsRefused() throws Exception {
    assertThatThrownBy(() -> BulkDaemon.start(binary, port.toString(), BulkPort.MAX_PAYLOAD + 1))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aCutEndsAStreamWhosePipesAreStillOpenAndAnUntakenStreamGetsItsEndFrame() throws Exception {
    RandomAccessFile out = pipe("out");
    pipe("err");
    CompletableFuture<Void> ended = daemon.take(5, dir.resolve("out").toString(), dir.resolve("err").toString());
    write(out, "x");
    awaitFrames(1);
    daemon.cut(5); // a leftover process holds the pipes: the exit must not wait for them
    assertThat(ended).isCompleted();
    daemon.cut(5); // ended already: no second end frame
    daemon.endUntaken(9);
    assertThat(awaitFrames(3)).extracting(Frame::stream, Frame::kind).containsExactly(
        org.assertj.core.groups.Tuple.tuple(5L, BulkPort.STDOUT),
        org.assertj.core.groups.Tuple.tuple(5L, BulkPort.END),
        org.assertj.core.groups.Tuple.tuple(9L, BulkPort.END));
    assertThat(frames()).hasSize(3);
  }

  @Test
  void pipesItCannotOpenAreNotTakenAndADeadDaemonFailsItsStreamsAndLaterTakes() throws Exception {
    assertThatThrownBy(() -> daemon.take(1, dir.resolve("missing").toString(), dir.resolve("missing2").toString()))
        .isInstanceOf(IOException.class).hasMessageContaining("did not open");
    assertThat(daemon.broken()).isNull();
    pipe("out");
    pipe("err");
    CompletableFuture<Void> ended = daemon.take(2, dir.resolve("out").toString(), dir.resolve("err").toString());
    ProcessHandle.of(daemon.pid()).orElseThrow().destroyForcibly();
    assertThatThrownBy(() -> ended.get(20, TimeUnit.SECONDS)).hasMessageContaining("out of use");
    assertThat(daemon.broken()).isNotNull();
    assertThatThrownBy(() -> daemon.take(3, dir.resolve("out").toString(), dir.resolve("err").toString()))
        .isInstanceOf(IOException.class).hasMessageContaining("out of use");
    assertThat(frames()).isEmpty();
  }
}
