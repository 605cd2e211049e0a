package io.micropod.examples.cli;

import java.util.List;

/** Docker-style text tables: left-aligned columns three spaces apart, no trailing blanks. */
final class Table {

  /** One line per row; every row has the header's number of columns. */
  static String format(List<String[]> rows) {
    int columns = rows.isEmpty() ? 0 : rows.get(0).length;
    int[] width = new int[columns];
    for (String[] r : rows) {
      for (int c = 0; c < r.length; c++) {
        width[c] = Math.max(width[c], r[c].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < r.length; c++) {
        line.append(c == r.length - 1 ? r[c] : String.format("%-" + (width[c] + 3) + "s", r[c]));
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
    return sb.toString();
  }

  private Table() {}
}
