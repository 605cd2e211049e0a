package io.micropod.internal.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Who listens on a host TCP port (tests: a published port must be bound to loopback only). */
public final class TcpListeners {
  private TcpListeners() {}

  /** Local addresses listening on TCP {@code port}, from /proc/net/tcp and tcp6. */
  public static List<String> of(int port) throws IOException {
    List<String> found = new ArrayList<>();
    for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      List<String> lines = Files.readAllLines(Path.of(file));
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.trim().split("\\s+");
        String[] local = f[1].split(":");
        if (!f[3].equals("0A") || Integer.parseInt(local[1], 16) != port) {
          continue;
        }
        if (local[0].length() == 8) {
          int a = (int) Long.parseLong(local[0], 16); // little-endian on x86
          found.add((a & 0xff) + "." + (a >> 8 & 0xff) + "." + (a >> 16 & 0xff) + "." + (a >>> 24) + ":" + port);
        } else {
          found.add("[" + local[0] + "]:" + port);
        }
      }
    }
    return found;
  }
}
