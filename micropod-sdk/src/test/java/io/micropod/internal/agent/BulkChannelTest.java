package io.micropod.internal.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micropod.ExecResult;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.ExecExit;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.ProcessSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The host end of the bulk port against a guest that writes good frames, garbage, oversized or
 * unknown-stream frames (a pipe stands in for QEMU's socket: the demux only reads bytes), and
 * AgentClient's collecting exec over it, including the fallback to gRPC when the agent does not
 * use the port.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BulkChannelTest {
  private Pipe pipe;
  private BulkChannel channel;

  @BeforeEach
  void open() throws IOException {
    pipe = Pipe.open();
    channel = new BulkChannel("test", pipe.source(), pipe.source());
    channel.start("bulk-test");
  }

  @AfterEach
  void close() throws IOException {
    channel.close();
    pipe.sink().close();
  }

  private void frame(int stream, int kind, byte[] data) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(BulkChannel.HEADER_BYTES + data.length);
    b.putInt(stream).put((byte) kind).putInt(data.length).put(data).flip();
    write(b);
  }

  private void write(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      pipe.sink().write(b);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void streamIdsAreNotCountedSoAnotherProcessCannotGuessTheOwnersNextOne() {
    java.util.List<Integer> ids = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      ids.add(channel.open(new OutputBuffer(100), new OutputBuffer(100)).id());
    }
    assertThat(ids).doesNotHaveDuplicates().allSatisfy(id -> assertThat(id).isPositive());
    int consecutive = 0;
    for (int i = 1; i < ids.size(); i++) {
      if (ids.get(i) - ids.get(i - 1) == 1) {
        consecutive++;
      }
    }
    assertThat(consecutive).as("ids %s", ids).isLessThan(2);
  }

  @Test
  void framesOfInterleavedStreamsLandInTheirOwnStdoutAndStderrInOrder() throws Exception {
    OutputBuffer out1 = new OutputBuffer(1 << 20);
    OutputBuffer err1 = new OutputBuffer(1 << 20);
    OutputBuffer out2 = new OutputBuffer(1 << 20);
    OutputBuffer err2 = new OutputBuffer(1 << 20);
    BulkChannel.Stream s1 = channel.open(out1, err1);
    BulkChannel.Stream s2 = channel.open(out2, err2);
    frame(s1.id(), BulkChannel.STDOUT, bytes("a1 "));
    frame(s2.id(), BulkChannel.STDOUT, bytes("b1 "));
    frame(s1.id(), BulkChannel.STDERR, bytes("e1"));
    frame(s1.id(), BulkChannel.STDOUT, bytes("a2"));
    frame(s1.id(), BulkChannel.END, new byte[0]);
    s1.ended().get(10, TimeUnit.SECONDS);
    assertThat(out1.toString(StandardCharsets.UTF_8)).isEqualTo("a1 a2");
    assertThat(err1.toString(StandardCharsets.UTF_8)).isEqualTo("e1");
    assertThat(s2.ended()).isNotDone();
    frame(s2.id(), BulkChannel.STDOUT, bytes("b2"));
    frame(s2.id(), BulkChannel.END, new byte[0]);
    s2.ended().get(10, TimeUnit.SECONDS);
    assertThat(out2.toString(StandardCharsets.UTF_8)).isEqualTo("b1 b2");
    assertThat(err2.size()).isZero();
    assertThat(channel.broken()).isNull();
  }

  @Test
  void outputPastTheLimitIsDroppedBehindTheMarkerSoHostMemoryStaysBounded() throws Exception {
    OutputBuffer out = new OutputBuffer(1000);
    BulkChannel.Stream s = channel.open(out, new OutputBuffer(1000));
    for (int i = 0; i < 64; i++) {
      frame(s.id(), BulkChannel.STDOUT, new byte[64 * 1024]);
    }
    frame(s.id(), BulkChannel.END, new byte[0]);
    s.ended().get(10, TimeUnit.SECONDS);
    assertThat(out.truncated()).isTrue();
    assertThat(out.size()).isLessThan(1000 + 200);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains(AgentLimits.truncationMarker(1000));
  }

  @Test
  void aFrameForAStreamTheHostDidNotOpenBreaksTheChannelAndFailsOpenStreams() throws Exception {
    BulkChannel.Stream s = channel.open(new OutputBuffer(1000), new OutputBuffer(1000));
    frame(s.id() + 7, BulkChannel.STDOUT, bytes("stray"));
    assertThatThrownBy(() -> s.ended().join()).isInstanceOf(CompletionException.class)
        .hasMessageContaining("which the host did not open");
    assertThat(channel.broken()).contains("stream " + (s.id() + 7));
    assertThat(channel.open(new OutputBuffer(10), new OutputBuffer(10)))
        .as("later execs fall back to gRPC").isNull();
  }

  @Test
  void anOversizedFrameBreaksTheChannelWithoutReadingOrAllocatingIt() throws Exception {
    BulkChannel.Stream s = channel.open(new OutputBuffer(1000), new OutputBuffer(1000));
    ByteBuffer b = ByteBuffer.allocate(BulkChannel.HEADER_BYTES);
    b.putInt(s.id()).put((byte) BulkChannel.STDOUT).putInt(-1).flip(); // 4 GiB - 1
    write(b);
    assertThatThrownBy(() -> s.ended().join()).hasMessageContaining("a frame of 4294967295 bytes")
        .hasMessageContaining("at most " + BulkChannel.MAX_PAYLOAD);
  }

  @Test
  void garbageBreaksTheChannelAsAFrameOfUnknownKind() throws Exception {
    BulkChannel.Stream s = channel.open(new OutputBuffer(1000), new OutputBuffer(1000));
    write(ByteBuffer.wrap(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
    assertThatThrownBy(() -> s.ended().join()).hasMessageContaining("unknown kind");
    assertThat(channel.open(new OutputBuffer(10), new OutputBuffer(10))).isNull();
  }

  @Test
  void anEndFrameWithBytesBreaksTheChannel() throws Exception {
    BulkChannel.Stream s = channel.open(new OutputBuffer(1000), new OutputBuffer(1000));
    frame(s.id(), BulkChannel.END, bytes("x"));
    assertThatThrownBy(() -> s.ended().join()).hasMessageContaining("a frame of 1 bytes (kind 3");
  }

  @Test
  void aGuestThatClosesThePortWithinAFrameFailsTheOpenStreams() throws Exception {
    BulkChannel.Stream s = channel.open(new OutputBuffer(1000), new OutputBuffer(1000));
    ByteBuffer b = ByteBuffer.allocate(BulkChannel.HEADER_BYTES + 3);
    b.putInt(s.id()).put((byte) BulkChannel.STDOUT).putInt(100).put(bytes("abc")).flip();
    write(b);
    pipe.sink().close();
    assertThatThrownBy(() -> s.ended().join()).hasMessageContaining("closed the bulk port within a frame");
  }

  @Test
  void anAbandonedStreamDropsItsBytesAndStaysOpenUntilItsEndFrame() throws Exception {
    OutputBuffer out = new OutputBuffer(1000);
    BulkChannel.Stream s = channel.open(out, new OutputBuffer(1000));
    s.abandon();
    frame(s.id(), BulkChannel.STDOUT, bytes("late"));
    frame(s.id(), BulkChannel.END, new byte[0]);
    s.ended().get(10, TimeUnit.SECONDS);
    assertThat(out.size()).isZero();
    assertThat(channel.broken()).isNull();
  }

  // --- AgentClient.exec over the channel, against an in-process agent ---------------------------

  /** An agent that writes the exec's output to the "port" when asked, or ignores the ask (old). */
  private final class FakeAgent extends AgentServiceGrpc.AgentServiceImplBase {
    private final boolean usesBulk;
    final AtomicInteger streamAsked = new AtomicInteger();

    FakeAgent(boolean usesBulk) {
      this.usesBulk = usesBulk;
    }

    @Override
    public StreamObserver<ExecRequest> execProcess(StreamObserver<ExecResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExecRequest r) {
          if (!r.hasStart()) {
            return;
          }
          int stream = r.getStart().getBulkStream();
          streamAsked.set(stream);
          try {
            if (usesBulk && stream != 0) {
              for (int i = 0; i < 100; i++) {
                frame(stream, BulkChannel.STDOUT, bytes(i + "\n"));
              }
              frame(stream, BulkChannel.STDERR, bytes("warn"));
              frame(stream, BulkChannel.END, new byte[0]);
            } else {
              out.onNext(ExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("over grpc")).build());
              out.onNext(ExecResponse.newBuilder().setStderr(ByteString.copyFromUtf8("warn")).build());
            }
          } catch (IOException e) {
            out.onError(e);
            return;
          }
          out.onNext(ExecResponse.newBuilder().setExit(ExecExit.newBuilder().setExitCode(3)
              .setBulkEnded(usesBulk && stream != 0)).build());
          out.onCompleted();
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }

  /**
   * An agent whose guest side fails mid-exec: it sends part of the output, then closes the port (its
   * VM died) or writes garbage (a broken guest); the call itself never ends (as when the VM is
   * killed, where the gRPC failure comes later, or never with a stalled transport).
   */
  private final class FailingAgent extends AgentServiceGrpc.AgentServiceImplBase {
    private final boolean garbage;

    FailingAgent(boolean garbage) {
      this.garbage = garbage;
    }

    @Override
    public StreamObserver<ExecRequest> execProcess(StreamObserver<ExecResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExecRequest r) {
          try {
            frame(r.getStart().getBulkStream(), BulkChannel.STDOUT, bytes("partial"));
            if (garbage) {
              write(ByteBuffer.wrap(bytes("GET / HTTP/1.1\r\n\r\n")));
            } else {
              pipe.sink().close();
            }
          } catch (IOException e) {
            out.onError(e);
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }

  @Test
  void aGuestThatClosesTheBulkPortMidExecFailsTheExecAsUnavailableAsTheAgentChannelDoes() {
    assertThatThrownBy(() -> execAgainst(new FailingAgent(false)))
        .isInstanceOf(io.micropod.AgentException.class)
        .hasMessageContaining("the guest closed the bulk port")
        .satisfies(e -> assertThat(((io.micropod.AgentException) e).status()).isEqualTo(io.micropod.AgentStatus.UNAVAILABLE));
  }

  @Test
  void garbageOnTheBulkPortMidExecFailsTheExecAsDataLoss() {
    assertThatThrownBy(() -> execAgainst(new FailingAgent(true)))
        .isInstanceOf(io.micropod.AgentException.class)
        .hasMessageContaining("unknown kind")
        .satisfies(e -> assertThat(((io.micropod.AgentException) e).status()).isEqualTo(io.micropod.AgentStatus.DATA_LOSS));
  }

  private ExecResult execAgainst(AgentServiceGrpc.AgentServiceImplBase agent) throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor().addService(agent).build().start();
    ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      AgentClient client = new AgentClient("test", ch, name);
      client.useBulk(channel);
      return client.exec("c", ProcessSpec.newBuilder().addArgs("x").build(), null, Duration.ofSeconds(10));
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void aCollectingExecGetsItsOutputOverTheBulkChannelSeparatedAndComplete() throws Exception {
    FakeAgent agent = new FakeAgent(true);
    ExecResult r = execAgainst(agent);
    assertThat(agent.streamAsked.get()).isNotZero();
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 100; i++) {
      expected.append(i).append('\n');
    }
    assertThat(r.stdout()).isEqualTo(expected.toString());
    assertThat(r.stderr()).isEqualTo("warn");
    assertThat(r.exitCode()).isEqualTo(3);
  }

  @Test
  void anAgentThatIgnoresTheBulkAskSendsOverGrpcAndTheHostForgetsTheStream() throws Exception {
    FakeAgent agent = new FakeAgent(false);
    ExecResult r = execAgainst(agent);
    assertThat(agent.streamAsked.get()).as("the host asked").isNotZero();
    assertThat(r.stdout()).isEqualTo("over grpc");
    assertThat(r.stderr()).isEqualTo("warn");
    assertThat(r.exitCode()).isEqualTo(3);
    // the stream is forgotten: a frame for it now is a stray frame
    BulkChannel.Stream other = channel.open(new OutputBuffer(10), new OutputBuffer(10));
    frame(agent.streamAsked.get(), BulkChannel.STDOUT, bytes("stray"));
    assertThatThrownBy(() -> other.ended().join()).hasMessageContaining("which the host did not open");
  }

  @Test
  void aBrokenChannelSendsLaterExecsToGrpc() throws Exception {
    write(ByteBuffer.wrap(bytes("garbage!!!")));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (channel.broken() == null && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
    }
    FakeAgent agent = new FakeAgent(true);
    ExecResult r = execAgainst(agent);
    assertThat(agent.streamAsked.get()).as("no bulk stream asked").isZero();
    assertThat(r.stdout()).isEqualTo("over grpc");
  }
}
