package io.micropod.internal.vm;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** The last lines of log files, for error messages. */
public final class FileTail {
  private static final int MAX_BYTES = 64 * 1024;

  private FileTail() {}

  /** The last {@code lines} lines of {@code file}; empty when it is missing or empty. */
  public static String tail(Path file, int lines) {
    if (file == null || !Files.isRegularFile(file)) {
      return "";
    }
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, MAX_BYTES);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      String s = new String(buf, StandardCharsets.UTF_8).replace("\r", "");
      List<String> all = Arrays.asList(s.split("\n"));
      int from = Math.max(0, all.size() - lines);
      return String.join("\n", all.subList(from, all.size())).strip();
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }

  /** Tails of several labelled files, skipping empty ones. */
  public static String tails(int lines, Object... labelsAndPaths) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i + 1 < labelsAndPaths.length; i += 2) {
      String t = tail((Path) labelsAndPaths[i + 1], lines);
      if (!t.isEmpty()) {
        if (sb.length() > 0) {
          sb.append('\n');
        }
        sb.append("[").append(labelsAndPaths[i]).append("]\n").append(t);
      }
    }
    return sb.toString();
  }
}
