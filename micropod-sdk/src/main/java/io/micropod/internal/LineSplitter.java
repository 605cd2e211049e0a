package io.micropod.internal;

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

  /** The lines {@code data} completes. */
  List<String> feed(byte[] data) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < data.length; i++) {
      if (data[i] == '\n') {
        pending.write(data, start, i - start);
        lines.add(decode(pending.toByteArray()));
        pending.reset();
        start = i + 1;
      }
    }
    pending.write(data, start, data.length - start);
    return lines;
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
