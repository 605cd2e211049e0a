package io.micropod;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;

/**
 * A process started with {@link MicroPod#execStreaming(ExecSpec)}: write its stdin as you go, then
 * wait for its result. Close {@link #stdin()} to send EOF. Thread-safe; one writer at a time on
 * {@code stdin()}, one reader at a time on {@code stdout()}.
 *
 * <pre>{@code
 * ExecProcess sh = pod.execStreaming(ExecSpec.builder("sh").tty(80, 24).build());
 * sh.stdin().write("stty size\n".getBytes(UTF_8));   // "24 80"
 * sh.resize(132, 50);
 * sh.stdin().write("stty size; exit 3\n".getBytes(UTF_8)); // "50 132"
 * ExecResult r = sh.await();                           // exit code 3
 * }</pre>
 */
public interface ExecProcess {
  /**
   * The process's stdin. Writes block while the agent channel is not ready (flow control), so a
   * slow process slows the writer instead of filling memory. {@code close()} sends EOF.
   *
   * @return the stream to write the process's input to; always the same instance
   */
  OutputStream stdin();

  /**
   * The process's stdout as it arrives, from the first byte (with a TTY: the terminal's output,
   * stdout and stderr merged); it ends (-1) once the process exited. {@link #await()}'s result
   * keeps the first 16 MiB of the same bytes (then a truncation marker); this stream, taken before
   * that limit was passed, carries <b>all</b> of them, however long the session runs. Once taken,
   * read it: past the limit at most 4 MiB wait here unread, then the process's writes wait for
   * the reader, as on a pipe ({@code close()} ends this stream, not the process, and lets the
   * process write on). Read it from one thread at a time.
   *
   * @return the stream of the process's output; always the same instance
   */
  default InputStream stdout() {
    throw new UnsupportedOperationException("stdout streaming is not supported by " + getClass().getName());
  }

  /**
   * Resizes the process's terminal (the process gets SIGWINCH); a no-op once the process exited.
   * Ordered with {@link #stdin()} writes: bytes written before the call reach the terminal first.
   *
   * @param columns the new width in character cells, 1..65535
   * @param rows the new height in character cells, 1..65535
   * @throws IllegalArgumentException when a value is not 1..65535
   * @throws IllegalStateException when the exec was started without {@link ExecSpec.Builder#tty}
   */
  default void resize(int columns, int rows) {
    throw new UnsupportedOperationException("resize is not supported by " + getClass().getName());
  }

  /**
   * Waits for the exit; stdout and stderr are what the process wrote, decoded as UTF-8.
   *
   * @return the exit code and output of the process, once it has exited
   * @throws AgentException when the agent could not run it
   * @throws ExecTimeoutException when the spec's {@link ExecSpec#timeout()} ended it (the
   *     output until then is in the exception)
   */
  ExecResult await();

  /**
   * Like {@link #await()}, or empty when {@code timeout} passes first (the process keeps running).
   *
   * @param timeout how long to wait at most; zero or negative only looks whether it has exited
   * @return the result, or empty when the process is still running after {@code timeout}
   * @throws ExecTimeoutException when the spec's {@link ExecSpec#timeout()} ended it
   */
  Optional<ExecResult> await(Duration timeout);
}
