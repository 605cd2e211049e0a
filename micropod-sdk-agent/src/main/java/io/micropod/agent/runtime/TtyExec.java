package io.micropod.agent.runtime;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An exec with a terminal runs under {@code micropod-tty} (rootfs-builder/guest/micropod-tty.c,
 * compiled into the guest image at {@code /usr/bin/micropod-tty}): runc hands the pty master over
 * a Unix socket with SCM_RIGHTS, and resizing is {@code ioctl(TIOCSWINSZ)} on it; the JDK can do
 * neither, so the helper receives the master, relays it on its stdout, reaps the process and
 * exits with its status. Its stdin carries frames, so that typed bytes, resizes and EOF keep
 * their order:
 *
 * <ul>
 *   <li>{@code 'D'} u32 length (big-endian), bytes: typed into the terminal (at most {@link
 *       #MAX_DATA_FRAME} bytes)
 *   <li>{@code 'R'} u16 rows, u16 columns: resize
 *   <li>{@code 'E'}: the terminal's EOF character (VEOF), once
 * </ul>
 *
 * The system property {@code micropod.ttyHelper}, else {@code MICROPOD_TTY_HELPER}, overrides the
 * helper's path (tests on a host).
 */
final class TtyExec {
  static final int MAX_DATA_FRAME = 16 * 1024;
  static final int DEFAULT_COLUMNS = 80;
  static final int DEFAULT_ROWS = 24;

  private static final String DEFAULT_HELPER = "/usr/bin/micropod-tty";

  private TtyExec() {}

  static Path helper() {
    return Path.of(System.getProperty("micropod.ttyHelper",
        System.getenv().getOrDefault("MICROPOD_TTY_HELPER", DEFAULT_HELPER)));
  }

  /** {@code micropod-tty <socket> <pidFile> <rows> <cols> -- <runc argv>}. */
  static List<String> command(Path socket, Path pidFile, int rows, int columns, List<String> runc) {
    List<String> argv = new ArrayList<>();
    argv.add(helper().toString());
    argv.add(socket.toString());
    argv.add(pidFile.toString());
    argv.add(Integer.toString(rows));
    argv.add(Integer.toString(columns));
    argv.add("--");
    argv.addAll(runc);
    return argv;
  }

  /** Writes {@code data} as 'D' frames. */
  static void writeData(OutputStream out, byte[] data) throws IOException {
    for (int off = 0; off < data.length; off += MAX_DATA_FRAME) {
      int n = Math.min(MAX_DATA_FRAME, data.length - off);
      out.write(new byte[] {'D', (byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
      out.write(data, off, n);
    }
    out.flush();
  }

  /** Writes an 'R' frame. */
  static void writeResize(OutputStream out, int rows, int columns) throws IOException {
    checkSize(rows, columns);
    out.write(new byte[] {'R', (byte) (rows >>> 8), (byte) rows, (byte) (columns >>> 8), (byte) columns});
    out.flush();
  }

  /** Writes an 'E' frame. */
  static void writeEof(OutputStream out) throws IOException {
    out.write('E');
    out.flush();
  }

  /** INVALID_ARGUMENT unless both are 1..65535. */
  static void checkSize(int rows, int columns) {
    if (rows < 1 || rows > 0xFFFF || columns < 1 || columns > 0xFFFF) {
      throw ContainerException.invalid(
          "terminal size must be 1..65535 columns and rows: " + columns + "x" + rows);
    }
  }
}
