package io.micropod.internal.agent;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a byte stream into UTF-8 lines on {@code \n} (a {@code \r} before it is dropped). Bytes
 * are split before decoding, so multi-byte characters that span chunks stay whole. Not
 * thread-safe.
 */
final class LineSplitter {
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private final int maxLineBytes;
  /** Whether the current line was cut at the limit: its bytes up to the next newline are dropped. */
  private boolean dropping;

  LineSplitter() {
    this(io.micropod.internal.agent.AgentLimits.MAX_LINE_BYTES);
  }

  /**
   * @param maxLineBytes a line longer than this is delivered cut there, with the truncation marker;
   *     so a guest that never writes a newline cannot grow the host's buffer without bound
   */
  LineSplitter(int maxLineBytes) {
    this.maxLineBytes = maxLineBytes;
  }

  /** The lines {@code data} completes (or cuts at the limit). */
  List<String> feed(byte[] data) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= data.length; i++) {
      boolean newline = i < data.length && data[i] == '\n';
      if (!newline && i < data.length) {
        continue;
      }
      int from = start;
      int end = i;
      while (!dropping && end - from > maxLineBytes - pending.size()) {
        int n = maxLineBytes - pending.size();
        pending.write(data, from, n);
        from += n;
        lines.add(cut(pending.toByteArray()));
        pending.reset();
        dropping = true;
      }
      if (!dropping) {
        pending.write(data, from, end - from);
      }
      if (newline) {
        if (!dropping) {
          lines.add(decode(pending.toByteArray()));
        }
        pending.reset();
        dropping = false;
        start = i + 1;
      }
    }
    return lines;
  }

  private String cut(byte[] b) {
    int n = b.length;
    // do not end inside a multi-byte character: back up over continuation bytes to its start
    int k = n;
    while (k > 0 && (b[k - 1] & 0xC0) == 0x80) {
      k--;
    }
    if (k > 0 && (b[k - 1] & 0x80) != 0) {
      int lead = b[k - 1] & 0xFF;
      int len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      n = (n - (k - 1) >= len) ? n : k - 1;
    }
    return new String(b, 0, n, StandardCharsets.UTF_8) + " "
        + io.micropod.internal.agent.AgentLimits.truncationMarker(maxLineBytes);
  }

  /** The unterminated rest, or null when there is none; clears it. */
  String rest() {
    if (pending.size() == 0) {
      return null;
    }
    String s = decode(pending.toByteArray());
    pending.reset();
    return s;
  }

  private static String decode(byte[] b) {
    int n = b.length;
    if (n > 0 && b[n - 1] == '\r') {
      n--;
    }
    return new String(b, 0, n, StandardCharsets.UTF_8);
  }
}
