package io.micropod.examples.cli;

import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Shows an image download on stderr: a bar redrawn in place on a terminal, plain lines otherwise
 * (at most one every {@link #PLAIN_EVERY}, and one at the end). As a {@link MicroPodListener} it
 * only records the bytes (the listener contract: fast, never blocks); a daemon thread draws.
 * Nothing is printed when nothing is downloaded. {@link #close()} draws the last state.
 */
final class PullProgress implements MicroPodListener, AutoCloseable {
  /** How often the bar is redrawn on a terminal. */
  static final Duration TERMINAL_EVERY = Duration.ofMillis(100);
  /** How often a plain line is printed when the output is not a terminal. */
  static final Duration PLAIN_EVERY = Duration.ofSeconds(2);
  private static final int BAR = 30;

  private final PrintWriter err;
  private final boolean terminal;
  private final String ref;
  private final ScheduledExecutorService ticker;
  private long done = -1;       // guarded by this
  private long total;           // guarded by this
  private long drawnDone = -1;  // guarded by this
  private boolean started;      // guarded by this
  private boolean closed;       // guarded by this

  /**
   * @param ref the image, as the header line names it
   * @param terminal whether {@code err} is a terminal (a bar redrawn with {@code \r})
   */
  PullProgress(PrintWriter err, boolean terminal, String ref) {
    this.err = err;
    this.terminal = terminal;
    this.ref = ref;
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "micropod-cli-progress");
      t.setDaemon(true);
      return t;
    });
    long every = (terminal ? TERMINAL_EVERY : PLAIN_EVERY).toMillis();
    ticker.scheduleAtFixedRate(this::draw, every, every, TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void progress(String podId, Phase phase, long done, long total) {
    if (phase == Phase.IMAGE_PULL && done >= this.done) {
      this.done = done;
      this.total = total;
    }
  }

  /** Whether any bytes were downloaded (a progress event came). */
  synchronized boolean downloaded() {
    return done >= 0;
  }

  private synchronized void draw() {
    if (closed || done < 0 || done == drawnDone) {
      return;
    }
    if (!started) {
      started = true;
      err.println("Pulling " + ref);
    }
    drawnDone = done;
    err.print(terminal ? "\r" + line(done, total, true) : line(done, total, false) + "\n");
    err.flush();
  }

  /** {@code [=====>      ]  1.2MB/4.26MB} on a terminal, {@code downloaded 1.2MB of 4.26MB (28%)} otherwise. */
  static String line(long done, long total, boolean bar) {
    int percent = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
    if (!bar) {
      return "downloaded " + Units.bytes(done) + " of " + Units.bytes(total) + " (" + percent + "%)";
    }
    int filled = percent * BAR / 100;
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < BAR; i++) {
      sb.append(i < filled ? '=' : i == filled ? '>' : ' ');
    }
    String sizes = Units.bytes(done) + "/" + Units.bytes(total);
    return sb.append("] ").append(String.format("%-16s", sizes)).toString();
  }

  /** Stops drawing and draws the final state (with a newline after a bar). Idempotent. */
  @Override
  public void close() {
    ticker.shutdownNow();
    draw();
    synchronized (this) {
      if (started && terminal && !closed) {
        err.println();
        err.flush();
      }
      closed = true;
    }
  }
}
