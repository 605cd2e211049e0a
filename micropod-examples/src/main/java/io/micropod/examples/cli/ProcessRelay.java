package io.micropod.examples.cli;

import io.micropod.ExecProcess;
import io.micropod.TerminalSize;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * What {@code exec -i/-t} and {@code run -i/-t} do with a process in a pod: this process's stdin
 * to its stdin, this terminal's size to its terminal, its output to ours.
 */
final class ProcessRelay {
  /** How often the size is looked at when no SIGWINCH came (a JVM where the handler failed). */
  private static final long RESIZE_POLL_MILLIS = 1000;

  private ProcessRelay() {}

  /**
   * Copies {@code stdin} to the process's stdin on a daemon thread, then closes it (EOF); with
   * {@code stdin} null, closes it at once.
   */
  static void pumpStdin(ExecProcess p, InputStream stdin) {
    if (stdin == null) {
      try {
        p.stdin().close();
      } catch (IOException e) {
        // never thrown by the SDK's close
      }
      return;
    }
    daemon("stdin", () -> {
      try (OutputStream in = p.stdin()) {
        byte[] buf = new byte[8192];
        int n;
        while ((n = stdin.read(buf)) >= 0) {
          in.write(buf, 0, n);
        }
      } catch (IOException e) {
        // the process exited, or stdin failed: nothing more to send
      }
    });
  }

  /**
   * Passes this terminal's size on to the process's terminal whenever it changes, on a daemon
   * thread: on SIGWINCH (the kernel sends it to this process's group at each resize), and once a
   * second in case the handler could not be installed.
   */
  @SuppressWarnings("restriction")
  static void followResizes(ExecProcess p, TerminalSize initial) {
    Semaphore changed = new Semaphore(0);
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), s -> changed.release());
    } catch (IllegalArgumentException e) {
      // no SIGWINCH here: the poll below still follows the size
    }
    daemon("resize", () -> {
      TerminalSize last = initial;
      while (true) {
        try {
          changed.tryAcquire(RESIZE_POLL_MILLIS, TimeUnit.MILLISECONDS);
          changed.drainPermits();
        } catch (InterruptedException e) {
          return;
        }
        Optional<TerminalSize> now = HostTerminal.size();
        if (now.isPresent() && !now.get().equals(last)) {
          last = now.get();
          p.resize(last.columns(), last.rows());
        }
      }
    });
  }

  /** Copies the process's stdout to {@code out} as it comes, until it ends. */
  static void copyOutput(ExecProcess p, PrintWriter out) {
    try (Reader r = new InputStreamReader(p.stdout(), StandardCharsets.UTF_8)) {
      char[] buf = new char[8192];
      int n;
      while ((n = r.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // the output ended early; await() says why
    }
  }

  private static void daemon(String role, Runnable r) {
    Thread t = new Thread(r, "micropod-cli-" + role);
    t.setDaemon(true);
    t.start();
  }
}
