package io.micropod.testkit.internal;

import java.util.Set;
import java.util.TreeSet;

/** Reads the listening ports out of Linux's {@code /proc/net/tcp} and {@code /proc/net/tcp6}. */
public final class ProcNetTcp {
  /** The kernel's {@code TCP_LISTEN} state, as {@code /proc/net/tcp} writes it. */
  private static final String LISTEN = "0A";

  private ProcNetTcp() {}

  /**
   * The local ports of the sockets in state LISTEN. Lines look like
   * {@code "  0: 00000000:1F90 00000000:0000 0A ..."} (local address:port in hex, remote, state);
   * header lines and anything malformed are skipped.
   */
  public static Set<Integer> listeningPorts(String procNetTcp) {
    Set<Integer> ports = new TreeSet<>();
    for (String line : procNetTcp.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 4 || !f[0].endsWith(":") || !f[3].equals(LISTEN)) {
        continue;
      }
      int colon = f[1].lastIndexOf(':');
      if (colon < 0) {
        continue;
      }
      try {
        ports.add(Integer.parseInt(f[1].substring(colon + 1), 16));
      } catch (NumberFormatException e) {
        // not a socket line
      }
    }
    return ports;
  }
}
