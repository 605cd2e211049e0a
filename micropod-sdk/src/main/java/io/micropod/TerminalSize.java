package io.micropod;

/**
 * A terminal window size in character cells, for an exec with a TTY ({@link
 * ExecSpec.Builder#tty(int, int)}, {@link ExecProcess#resize(int, int)}). Immutable.
 *
 * @param columns width, 1..65535
 * @param rows height, 1..65535
 */
public record TerminalSize(int columns, int rows) {
  /** 80 columns by 24 rows, the size a TTY exec gets unless told otherwise. */
  public static final TerminalSize DEFAULT = new TerminalSize(80, 24);

  /**
   * @throws IllegalArgumentException when a value is not 1..65535
   *
   * @param columns width, 1..65535
   * @param rows height, 1..65535
   */
  public TerminalSize {
    check("columns", columns);
    check("rows", rows);
  }

  /**
   * {@code columns} by {@code rows}.
   *
   * @param columns width, 1..65535
   * @param rows height, 1..65535
   * @return the size
   */
  public static TerminalSize of(int columns, int rows) {
    return new TerminalSize(columns, rows);
  }

  private static void check(String name, int value) {
    if (value < 1 || value > 0xFFFF) {
      throw new IllegalArgumentException(name + " is not 1..65535: " + value);
    }
  }

  @Override
  public String toString() {
    return columns + "x" + rows;
  }
}
