package io.micropod.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * One {@code runc exec}: its output is pumped to an {@link OutputSink} as it comes, stdin is fed
 * by the caller, and {@link #exit()} completes after the process exited and its output was
 * read. When runc itself failed (an error entry in its log) the exit code follows the shell
 * convention: 127 when the executable was not found, else 126, and runc's message is written to
 * the sink as stderr unless runc already printed it there.
 */
public final class ExecSession {
  private static final int STDERR_TAIL_CHARS = 8192;

  private final ProcessInput input;
  private final OutputSink sink;
  private final Runnable kill;
  private final Runnable killGroup;
  private final CompletableFuture<ExitStatus> exit;
  private final StringBuilder stderrTail = new StringBuilder();

  /**
   * @param kill what {@link #kill()} does
   * @param exit completes with the process's exit
   */
  ExecSession(ProcessInput input, OutputSink sink, Runnable kill, CompletableFuture<ExitStatus> exit) {
    this(input, sink, kill, kill, exit);
  }

  /** @param killGroup what {@link #killGroup()} does */
  ExecSession(ProcessInput input, OutputSink sink, Runnable kill, Runnable killGroup,
      CompletableFuture<ExitStatus> exit) {
    this.input = input;
    this.sink = sink;
    this.kill = kill;
    this.killGroup = killGroup;
    this.exit = exit;
  }

  static ExecSession start(
      Process process,
      String name,
      OutputSink sink,
      ContainerManager manager,
      Supplier<String> runtimeError) {
    return start(process, name, sink, manager, runtimeError, false);
  }

  /** @param tty {@code process} is {@code micropod-tty} (see {@link TtyExec}) */
  static ExecSession start(
      Process process,
      String name,
      OutputSink sink,
      ContainerManager manager,
      Supplier<String> runtimeError,
      boolean tty) {
    // Through the helper the process leads its own session and group (micropod-exec.c), which
    // the helper can kill whole; through the runtime only the runtime's forwarded SIGTERM reaches
    // it (a SIGKILL to runc would kill runc, not the process).
    Runnable killGroup = process instanceof ExecHelper.HelperProcess hp ? hp::destroyGroup : process::destroy;
    ExecSession s = new ExecSession(new ProcessInput(process.getOutputStream(), tty, "the exec"),
        sink, process::destroy, killGroup, new CompletableFuture<>());
    OutputSink tee = s::forward;
    // stdout straight from its pipe to a sink that takes buffers (the bulk port): no heap copies
    CompletableFuture<Void> stdout =
        sink instanceof BufferSink direct && process instanceof ExecHelper.HelperProcess hp
            ? StreamPump.startDirect(hp.stdoutChannel(), OutputLog.Stream.STDOUT, direct,
                name + "-out", sink.readBytes())
            : StreamPump.start(process.getInputStream(), OutputLog.Stream.STDOUT, tee, name + "-out",
                sink.readBytes());
    CompletableFuture<Void> output =
        CompletableFuture.allOf(
            stdout,
            // stderr's pipe keeps the default 64 KiB (only stdout's is enlarged: micropod-exec.c)
            StreamPump.start(process.getErrorStream(), OutputLog.Stream.STDERR, tee, name + "-err"));
    process
        .onExit()
        .thenRun(() -> manager.afterOutput(output, () -> s.finish(process.exitValue(), runtimeError.get())));
    return s;
  }

  private void forward(OutputLog.Stream stream, byte[] data, int offset, int length)
      throws InterruptedException {
    if (stream == OutputLog.Stream.STDERR) {
      synchronized (stderrTail) {
        stderrTail.append(new String(data, offset, length, StandardCharsets.UTF_8));
        if (stderrTail.length() > STDERR_TAIL_CHARS) {
          stderrTail.delete(0, stderrTail.length() - STDERR_TAIL_CHARS);
        }
      }
    }
    sink.write(stream, data, offset, length);
  }

  private void finish(int status, String runtimeError) {
    if (runtimeError == null) {
      exit.complete(ExitStatus.fromStatus(status));
      return;
    }
    boolean printed;
    synchronized (stderrTail) {
      printed = stderrTail.indexOf(runtimeError) >= 0;
    }
    if (!printed) {
      byte[] message = (runtimeError + "\n").getBytes(StandardCharsets.UTF_8);
      try {
        sink.write(OutputLog.Stream.STDERR, message, 0, message.length);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        // the caller went away; the exit below is all that is left to report
      }
    }
    exit.complete(new ExitStatus(RuncLog.isNotFound(runtimeError) ? 127 : 126, 0));
  }

  /** Completes with the process's exit status once it exited and its output was read. */
  public CompletableFuture<ExitStatus> exit() {
    return exit;
  }

  /** Writes to the process's stdin (only when started with attach_stdin). May block. */
  public void writeStdin(byte[] data) throws IOException {
    input.write(data);
  }

  /**
   * Closes the process's stdin; idempotent. With a terminal, types its EOF character once
   * instead (the helper's stdin stays open for resizes).
   */
  public void closeStdin() {
    input.close();
  }

  /** Whether the process runs on a terminal. */
  public boolean tty() {
    return input.tty();
  }

  /**
   * Resizes the process's terminal; a no-op once the process exited. INVALID_ARGUMENT without a
   * terminal or for a size out of 1..65535.
   */
  public void resize(int rows, int columns) {
    input.resize(rows, columns);
  }

  /**
   * Stops the exec (SIGTERM to runc, which forwards it to the process); for an attachment to a
   * container's own process ({@link ContainerManager#attach}), only stops following it.
   */
  public void kill() {
    kill.run();
  }

  /**
   * Kills the exec's process and its process group with SIGKILL (an exec's deadline): what it
   * started in the background dies too, unless it left the group. Through the OCI runtime (a
   * terminal, or no helper) only SIGTERM to the process. A no-op for an attachment.
   */
  public void killGroup() {
    killGroup.run();
  }
}
