package io.micropod.agent.runtime;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The stdin side of a process the agent started: an exec's or a container's own. Without a
 * terminal it is the process's stdin pipe; with one it is the {@link TtyExec} helper's stdin,
 * which carries frames (typed bytes, resizes, EOF) and stays open for resizes after EOF was
 * typed. Thread-safe; writes may block (pipe full).
 */
final class ProcessInput {
  private final OutputStream out;
  private final boolean tty;
  /** For messages: "the exec", "container c1's process". */
  private final String what;
  private boolean eofSent;

  ProcessInput(OutputStream out, boolean tty, String what) {
    this.out = out;
    this.tty = tty;
    this.what = what;
  }

  boolean tty() {
    return tty;
  }

  /** Writes to the process's stdin. May block. */
  void write(byte[] data) throws IOException {
    if (tty) {
      synchronized (this) {
        if (eofSent) {
          throw new IOException("stdin was closed");
        }
        TtyExec.writeData(out, data);
      }
      return;
    }
    out.write(data);
    out.flush();
  }

  /**
   * Closes the process's stdin; idempotent. With a terminal, types its EOF character once
   * instead (the helper's stdin stays open for resizes).
   */
  void close() {
    try {
      if (tty) {
        synchronized (this) {
          if (!eofSent) {
            eofSent = true;
            TtyExec.writeEof(out);
          }
        }
        return;
      }
      out.close();
    } catch (IOException e) {
      // already closed or the process is gone
    }
  }

  /**
   * Resizes the process's terminal; a no-op once the process exited. INVALID_ARGUMENT without a
   * terminal or for a size out of 1..65535.
   */
  void resize(int rows, int columns) {
    if (!tty) {
      throw ContainerException.invalid("resize sent but " + what + " has no terminal (process.terminal)");
    }
    TtyExec.checkSize(rows, columns);
    try {
      synchronized (this) {
        TtyExec.writeResize(out, rows, columns);
      }
    } catch (IOException e) {
      // the helper exited: nothing left to resize
    }
  }
}
