package io.micropod.internal.agent;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.ExecResult;
import io.micropod.ExecTimeoutException;
import io.micropod.internal.base.Durations;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects an exec's output; half-closes once the exit arrived. With a bulk stream
 * ({@link #useBulk}) the output arrives on the pod's {@link BulkChannel} and the result waits for
 * the stream's end frame (which the agent writes before the exit).
 */
final class ExecObserver implements ClientResponseObserver<ExecRequest, ExecResponse> {
  private static final Logger log = LoggerFactory.getLogger(ExecObserver.class);
  private final CompletableFuture<ExecResult> result;
  final OutputBuffer stdout;
  private final OutputBuffer stderr;
  private ClientCallStreamObserver<ExecRequest> call;
  private final Object ready = new Object();
  private Integer exitCode;
  private boolean bulkEnded;
  private volatile BulkChannel.Stream bulk;
  /** The exec's deadline ({@link #armDeadline}); null: none. */
  private volatile Duration deadline;
  /** How long the agent had to confirm the kill. */
  private volatile Duration grace;
  /** Set when the deadline passed before the exec ended: the kill was asked for. */
  private volatile boolean deadlinePassed;
  /**
   * How long the result waits, after the exit, for the end frame the agent wrote before it: only
   * a broken or hostile agent makes this wait at all.
   */
  static final long BULK_END_WAIT_SECONDS = 30;
  /** Messages asked for ahead of those being handled. */
  private static final int IN_FLIGHT = 4;

  ExecObserver(CompletableFuture<ExecResult> result, AgentLimits limits) {
    this.result = result;
    this.stdout = new OutputBuffer(limits.maxOutputBytes());
    this.stderr = new OutputBuffer(limits.maxOutputBytes());
  }

  /**
   * Opens a stream on {@code channel} into this exec's buffers; null when the channel is broken.
   * The output then comes as frames of it, and a broken channel fails the exec.
   */
  BulkChannel.Stream openBulk(BulkChannel channel) {
    BulkChannel.Stream stream = channel.open(stdout, stderr);
    if (stream != null) {
      useBulk(stream);
    }
    return stream;
  }

  private void useBulk(BulkChannel.Stream stream) {
    this.bulk = stream;
    stream.ended().whenComplete((v, t) -> {
      if (t != null && !result.isDone()) {
        // as the agent channel reports it (an AgentException with its status): a guest that closed
        // the port went away (UNAVAILABLE, as the VM's death on the gRPC call), one that broke the
        // frame rules lost the output (DATA_LOSS)
        boolean gone = t instanceof BulkChannel.EndedException e && e.closedByGuest();
        result.completeExceptionally((gone ? Status.UNAVAILABLE : Status.DATA_LOSS).withDescription(
            "the exec's output over the pod's bulk channel was lost (" + t.getMessage() + "); the exec was"
                + " cancelled" + (gone ? "" : "; later execs use the agent's gRPC channel")).withCause(t)
            .asRuntimeException());
        stdout.end();
        cancel("bulk channel ended");
      }
    });
  }

  /**
   * The exec's deadline, counted from now (the call was just opened): when it passes before the
   * exec ended, asks the agent to kill the process and its group; when the exec then has not
   * ended within {@code grace} either (a wedged or hostile agent), fails it and cancels the call,
   * so that nothing waits on the guest past {@code timeout + grace}. The timers run on {@code
   * timers} and are cancelled when the exec ends.
   */
  void armDeadline(ScheduledExecutorService timers, Duration timeout, Duration grace) {
    this.deadline = timeout;
    this.grace = grace;
    try {
      ScheduledFuture<?> kill = timers.schedule(() -> deadlinePassed(timers), timeout.toNanos(),
          TimeUnit.NANOSECONDS);
      result.whenComplete((r, t) -> kill.cancel(false));
    } catch (RejectedExecutionException e) {
      // the client is closing: the call fails with the channel
    }
  }

  private void deadlinePassed(ScheduledExecutorService timers) {
    if (result.isDone()) {
      return;
    }
    deadlinePassed = true;
    try {
      ScheduledFuture<?> giveUp = timers.schedule(this::killUnconfirmed, grace.toNanos(),
          TimeUnit.NANOSECONDS);
      result.whenComplete((r, t) -> giveUp.cancel(false));
    } catch (RejectedExecutionException e) {
      return; // the client is closing: the call fails with the channel
    }
    synchronized (this) {
      try {
        call.onNext(ExecRequest.newBuilder().setKill(true).build());
      } catch (RuntimeException e) {
        // half-closed: the exit arrived meanwhile and the result follows
        log.debug("exec deadline: kill not sent: {}", e.toString());
      }
    }
  }

  private void killUnconfirmed() {
    if (result.isDone()) {
      return;
    }
    BulkChannel.Stream s = bulk;
    if (s != null) {
      s.abandon();
    }
    result.completeExceptionally(Status.DEADLINE_EXCEEDED.withDescription("the agent did not confirm the"
        + " kill within " + Durations.human(grace)).asRuntimeException());
    stdout.end();
    cancel("the exec's deadline passed and the agent did not confirm the kill");
  }

  /** Whether the exec's deadline passed before it ended: then {@link #timedOut} is the outcome. */
  boolean deadlinePassed() {
    return deadlinePassed;
  }

  /**
   * The exec ended by its deadline, as {@code r} (the exit after the kill) or, with null,
   * by giving up on the agent ({@code cause}); the output is what arrived until then.
   */
  ExecTimeoutException timedOut(String podId, List<String> command, ExecResult r, Throwable cause) {
    String out = r != null ? r.stdout() : new String(stdout.toByteArray(), StandardCharsets.UTF_8);
    String err = r != null ? r.stderr() : new String(stderr.toByteArray(), StandardCharsets.UTF_8);
    String what = "exec of " + command + " in pod " + podId + " ran past its timeout of "
        + Durations.human(deadline);
    String message = r != null
        ? what + " and was killed (with its process group); its output until then is in the exception's"
            + " stdout() and stderr(). Raise ExecSpec.Builder.timeout, or make the command end sooner"
        : what + "; the host asked the agent to kill it, but the agent did not confirm within "
            + Durations.human(grace) + " (" + (cause == null ? "no answer" : cause.getMessage()) + "), so the"
            + " call was cancelled: the process may still run and the guest may be wedged or paused."
            + " Check the pod (another exec, or stats), or close it";
    return new ExecTimeoutException(message, r != null ? null : cause, podId, command, deadline, out, err,
        r != null);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ExecRequest> call) {
    this.call = call;
    // Messages are asked for one by one (a few in flight), so that a streaming reader's full
    // window holds the agent back through HTTP/2 flow control instead of filling the heap.
    call.disableAutoRequestWithInitial(IN_FLIGHT);
    call.setOnReadyHandler(() -> {
      synchronized (ready) {
        ready.notifyAll();
      }
    });
  }

  /** Waits until the call can take another message (or the exec ended). */
  void awaitReady() throws InterruptedIOException {
    synchronized (ready) {
      while (!call.isReady() && !result.isDone()) {
        try {
          ready.wait(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while writing stdin");
        }
      }
    }
  }

  @Override
  public void onNext(ExecResponse r) {
    switch (r.getKindCase()) {
      case STDOUT:
        stdout.append(r.getStdout());
        if (stdout.acceptsMore(this::requestNext)) {
          requestNext();
        }
        break;
      case STDERR:
        stderr.append(r.getStderr());
        requestNext();
        break;
      case EXIT:
        exitCode = r.getExit().getExitCode();
        bulkEnded = r.getExit().getBulkEnded();
        synchronized (this) {
          call.onCompleted();
        }
        requestNext();
        break;
      default:
        // a message with no known kind: a broken or hostile agent; fail the exec clearly
        result.completeExceptionally(Status.INTERNAL
            .withDescription("the agent sent an ExecProcess message with no stdout, stderr or exit ("
                + r.getKindCase() + ")").asRuntimeException());
        stdout.end();
        synchronized (this) {
          call.cancel("unexpected ExecProcess message", null);
        }
        break;
    }
  }

  @Override
  public void onError(Throwable t) {
    BulkChannel.Stream s = bulk;
    if (s != null) {
      s.abandon();
    }
    result.completeExceptionally(t);
    stdout.end();
  }

  @Override
  public void onCompleted() {
    if (exitCode == null) {
      result.completeExceptionally(Status.INTERNAL
          .withDescription("the agent ended ExecProcess without an exit status").asRuntimeException());
      stdout.end();
      return;
    }
    BulkChannel.Stream s = bulk;
    if (s != null && bulkEnded) {
      s.ended().orTimeout(BULK_END_WAIT_SECONDS, TimeUnit.SECONDS).whenComplete((v, t) -> {
        if (t == null) {
          complete();
        } else if (!result.isDone()) {
          s.abandon();
          result.completeExceptionally(new IOException("the agent reported the exec's output complete on the"
              + " pod's bulk channel, but its end frame did not arrive within " + BULK_END_WAIT_SECONDS
              + " s (" + t + ")", t));
          stdout.end();
        }
      });
      return;
    }
    if (s != null) {
      s.unused(); // the agent sent the output as responses (no bulk port, or an older agent)
    }
    complete();
  }

  private void complete() {
    result.complete(ExecResult.of(exitCode,
        new String(stdout.toByteArray(), StandardCharsets.UTF_8),
        new String(stderr.toByteArray(), StandardCharsets.UTF_8)));
    stdout.end();
  }

  private void requestNext() {
    synchronized (this) {
      call.request(1);
    }
  }

  void cancel(String why) {
    synchronized (this) {
      call.cancel(why, null);
    }
  }
}
