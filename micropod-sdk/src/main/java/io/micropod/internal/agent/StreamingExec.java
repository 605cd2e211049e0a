package io.micropod.internal.agent;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.MicroPodException;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.TerminalSize;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An {@code ExecProcess} call with stdin attached ({@link AgentClient#execStreaming}): stdin is
 * written under flow control, stdout is readable as it arrives.
 */
final class StreamingExec implements ExecProcess {
  private final AgentClient client;
  private final ProcessSpec process;
  private final TerminalSize tty;
  /** An attach to the container's own process rather than an exec. */
  private final boolean attached;
  private final CompletableFuture<ExecResult> result = new CompletableFuture<>();
  private final ExecObserver observer;
  private final StreamObserver<ExecRequest> requests;
  private final OutputStream stdin = new Stdin();

  /** Opens the call and sends its {@code start} message. */
  StreamingExec(AgentClient client, AgentServiceGrpc.AgentServiceStub async, String containerId,
      ProcessSpec process, TerminalSize tty, Duration killAfter) {
    this(client, async, AgentClient.start(containerId, process, tty, true), tty, killAfter);
  }

  /**
   * Opens the call with {@code start} (e.g. an attach to the container's own process); {@code
   * tty} is the terminal's size when the process has one, else null.
   */
  StreamingExec(AgentClient client, AgentServiceGrpc.AgentServiceStub async, ExecStart start,
      TerminalSize tty) {
    this(client, async, start, tty, null);
  }

  /** @param killAfter the exec's deadline ({@link ExecObserver#armDeadline}), null for none */
  StreamingExec(AgentClient client, AgentServiceGrpc.AgentServiceStub async, ExecStart start,
      TerminalSize tty, Duration killAfter) {
    ProcessSpec process = start.getProcess();
    this.client = client;
    this.process = process;
    this.tty = tty;
    this.attached = start.getAttachMain();
    this.observer = new ExecObserver(result, client.limits());
    this.requests = async.execProcess(observer);
    synchronized (observer) {
      requests.onNext(ExecRequest.newBuilder().setStart(start).build());
      client.armDeadline(observer, killAfter);
    }
  }

  @Override
  public OutputStream stdin() {
    return stdin;
  }

  @Override
  public InputStream stdout() {
    return observer.stdout.reader(); // the same instance each time
  }

  @Override
  public void resize(int columns, int rows) {
    io.micropod.TerminalSize size = io.micropod.TerminalSize.of(columns, rows);
    if (tty == null) {
      throw new IllegalStateException(
          "the " + (attached ? "container's process " : "exec of ") + process.getArgsList()
          + " was started without a TTY (" + (attached ? "MicroPodSpec" : "ExecSpec") + ".Builder.tty)");
    }
    // under the stdin stream's lock: ordered with the stdin writes before it
    synchronized (stdin) {
      synchronized (observer) {
        if (result.isDone()) {
          return;
        }
        requests.onNext(ExecRequest.newBuilder()
            .setResize(TerminalSize.newBuilder()
                .setColumns(size.columns()).setRows(size.rows()))
            .build());
      }
    }
  }

  /**
   * Calls {@code done} once, when the process has ended: with its result, or with the exception
   * {@link #await()} throws. Runs on the thread that completes the call (a gRPC thread), or at
   * once when it already ended.
   */
  void whenEnded(java.util.function.BiConsumer<ExecResult, RuntimeException> done) {
    result.whenComplete((r, e) -> {
      ExecResult mapped;
      try {
        mapped = client.awaitExec(result, observer, process, null); // at once: the call ended
      } catch (RuntimeException failure) { // also an exit after the deadline's kill
        done.accept(null, failure);
        return;
      }
      done.accept(mapped, null);
    });
  }

  @Override
  public ExecResult await() {
    return client.awaitExec(result, observer, process, null);
  }

  @Override
  public Optional<ExecResult> await(Duration timeout) {
    try {
      result.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MicroPodException("interrupted while waiting for " + process.getArgsList()
          + " in pod " + client.podId(), e, client.podId(), null);
    } catch (ExecutionException e) {
      // awaitExec maps it
    }
    return Optional.of(client.awaitExec(result, observer, process, null));
  }

  /** The process's stdin: writes wait while the call is not ready; close() closes it in the guest. */
  private final class Stdin extends OutputStream {
    private boolean closed;

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (closed) {
        throw new IOException("stdin is closed");
      }
      while (len > 0) {
        observer.awaitReady();
        int n = Math.min(len, 32 * 1024);
        synchronized (observer) {
          if (result.isDone()) {
            throw new IOException("the process exited; its stdin is closed");
          }
          requests.onNext(ExecRequest.newBuilder()
              .setStdin(ByteString.copyFrom(b, off, n)).build());
        }
        off += n;
        len -= n;
      }
    }

    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      synchronized (observer) {
        if (!result.isDone()) {
          requests.onNext(ExecRequest.newBuilder().setCloseStdin(true).build());
        }
      }
    }
  }
}
