package io.micropod;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a terminal shows (a TTY exec's or main process's stdout, a pty's master), read on a daemon
 * thread of its own; tests wait for patterns to a deadline. Public: the CLI's tests use it too.
 */
public final class TerminalScreen {
  private final StringBuilder text = new StringBuilder();
  private final Duration deadline;
  private boolean ended;

  /**
   * Starts reading {@code in} until its end (then closes it).
   *
   * @param deadline how long each wait may take
   */
  public TerminalScreen(InputStream in, Duration deadline) {
    this.deadline = deadline;
    Thread t = new Thread(() -> {
      byte[] buf = new byte[4096];
      try (in) {
        for (int n; (n = in.read(buf)) >= 0; ) {
          synchronized (this) {
            text.append(new String(buf, 0, n, UTF_8));
            notifyAll();
          }
        }
      } catch (IOException e) {
        // ends the text
      }
      synchronized (this) {
        ended = true;
        notifyAll();
      }
    }, "terminal-screen-reader");
    t.setDaemon(true);
    t.start();
  }

  /** The first match of {@code p} at or after {@code from}; fails after the deadline or at the end. */
  public synchronized Matcher await(Pattern p, int from) throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      Matcher m = p.matcher(text);
      if (m.find(from)) {
        return m;
      }
      long left = end - System.nanoTime();
      if (ended || left <= 0) {
        throw new AssertionError("no " + p + " on the screen" + (ended ? " (it ended)" : "")
            + " within " + deadline + ": " + text);
      }
      wait(Math.max(1, left / 1_000_000));
    }
  }

  /** Everything, once the stream ended (or the deadline passed). */
  public synchronized String text() throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (!ended && System.nanoTime() < end) {
      wait(1000);
    }
    return text.toString();
  }

  /** What was read so far. */
  public synchronized String snapshot() {
    return text.toString();
  }
}
