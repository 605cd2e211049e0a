package io.micropod.agent.runtime;

/**
 * The stdio of a container's own process: on a pseudo-terminal of {@code rows} x {@code columns}
 * (under {@link TtyExec}'s helper) or on pipes, and whether its stdin stays open for {@link
 * ContainerManager#attach} callers (else /dev/null; with a terminal, EOF typed at once).
 *
 * @param rows 0: {@link TtyExec#DEFAULT_ROWS}
 * @param columns 0: {@link TtyExec#DEFAULT_COLUMNS}
 */
public record MainStdio(boolean tty, boolean openStdin, int rows, int columns) {
  /** No terminal, stdin /dev/null: what a container had before terminals. */
  public static final MainStdio NONE = new MainStdio(false, false, 0, 0);

  public MainStdio {
    if (tty) {
      rows = rows == 0 ? TtyExec.DEFAULT_ROWS : rows;
      columns = columns == 0 ? TtyExec.DEFAULT_COLUMNS : columns;
      TtyExec.checkSize(rows, columns);
    }
  }
}
