package io.micropod.internal.net;

import io.micropod.EgressPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The two files through which a pod's egress rules reach QEMU's network guard
 * ({@code rootfs-builder/host/libmicropod-netguard.c}) and its denials come back, both in the
 * pod's socket directory (which lives as long as the pod, detached pods included, and which the
 * guard finds through {@code MICROPOD_NETGUARD_DIR}):
 * <ul>
 *   <li>{@value #RULES}: written by the SDK, replaced by a rename on every change (the guard
 *       re-reads it within about 100 ms of a change); the format is the guard's
 *       ({@code default allow|deny}, {@code allow|deny cidr <CIDR>}, {@code allow|deny name <NAME>}).
 *   <li>{@value #EVENTS}: appended by the guard, one line per denial
 *       ({@code <unix ms> deny <tcp|udp|dns> <destination> <port> <host|rule>}), at most about 20 a
 *       second (then one {@code <unix ms> suppressed <n>} line counts what was left out), and
 *       started again from empty past 4 MiB. Written by the guest's own traffic: parsed as hostile.
 * </ul>
 */
public final class EgressFiles {
  /** The rules file's name in the socket directory. */
  public static final String RULES = "egress.rules";
  /** The events file's name in the socket directory. */
  public static final String EVENTS = "egress.events";

  /** Longest events line read; longer ones are skipped (the guard writes far shorter ones). */
  static final int MAX_LINE = 512;
  private static final Pattern DENY = Pattern.compile(
      "(\\d{1,15}) deny (tcp|udp|dns) ([0-9A-Za-z_.:?*-]{1,255}) (\\d{1,5}) (host|rule)");
  private static final Pattern SUPPRESSED = Pattern.compile("(\\d{1,15}) suppressed (\\d{1,15})");

  private EgressFiles() {}

  /** A normalized rule ({@link EgressPolicy#allowed()}) is a CIDR when it has a prefix: names have no '/'. */
  private static boolean isCidr(String rule) {
    return rule.indexOf('/') >= 0;
  }

  /** {@return the rules file's text for {@code policy}} */
  public static String render(EgressPolicy policy) {
    StringBuilder b = new StringBuilder("# written by the MicroPod SDK; read by libmicropod-netguard.so\n");
    b.append("default ").append(policy.defaultAction().name().toLowerCase(Locale.ROOT)).append('\n');
    for (String r : policy.allowed()) {
      b.append("allow ").append(isCidr(r) ? "cidr " : "name ").append(r).append('\n');
    }
    for (String r : policy.denied()) {
      b.append("deny ").append(isCidr(r) ? "cidr " : "name ").append(r).append('\n');
    }
    return b.toString();
  }

  /**
   * Writes {@code policy} as the rules of the pod whose socket directory is {@code socketDir}:
   * a temporary file renamed over the old one, so that the guard reads either the old rules or the
   * new, never half. The file gets the directory's owner (as root, QEMU's own uid, which must read
   * it: see {@code VmmUser}) and mode 0644.
   *
   * @throws IOException when the directory is gone (the pod ended) or cannot be written
   */
  public static void write(Path socketDir, EgressPolicy policy) throws IOException {
    Path tmp = socketDir.resolve("." + RULES + "." + ProcessHandle.current().pid() + "." + System.nanoTime());
    try {
      Files.writeString(tmp, render(policy), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      var owner = Files.getOwner(socketDir, LinkOption.NOFOLLOW_LINKS);
      if (!owner.equals(Files.getOwner(tmp, LinkOption.NOFOLLOW_LINKS))) {
        Files.setOwner(tmp, owner);
      }
      Files.move(tmp, socketDir.resolve(RULES), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * One line of the events file: a denial, or a count of denials the guard's rate limit left out
   * (then {@code protocol} and {@code destination} are {@code "*"} and {@code port} 0).
   *
   * @param at when the guard denied it
   * @param protocol {@code tcp}, {@code udp}, {@code dns} (a query for a denied name), or {@code *}
   * @param destination the address (or, for {@code dns}, the name; {@code ?} for a query the guard
   *     could not read)
   * @param port the destination port
   * @param byHostRule true when the NAT's host protection refused it, false for the egress rules
   * @param count 1 for a denial, else how many were left out
   */
  public record Denial(Instant at, String protocol, String destination, int port, boolean byHostRule, long count) {}

  /** {@return the line parsed, or null when it is not one the guard writes} */
  public static Denial parse(String line) {
    Matcher m = DENY.matcher(line);
    if (m.matches()) {
      int port = Integer.parseInt(m.group(4));
      if (port > 65535) {
        return null;
      }
      return new Denial(Instant.ofEpochMilli(Long.parseLong(m.group(1))), m.group(2), m.group(3), port,
          m.group(5).equals("host"), 1);
    }
    m = SUPPRESSED.matcher(line);
    if (m.matches()) {
      return new Denial(Instant.ofEpochMilli(Long.parseLong(m.group(1))), "*", "*", 0, false,
          Long.parseLong(m.group(2)));
    }
    return null;
  }

  /**
   * Reads an events file from a position on: what was appended since the last read. Not
   * thread-safe; one per file.
   */
  public static final class Reader {
    private final Path file;
    private long offset;
    private final StringBuilder partial = new StringBuilder();

    public Reader(Path file) {
      this.file = file;
    }

    /**
     * {@return the complete lines appended since the last call, parsed (lines that do not parse are
     * dropped)}. A file that shrank was started again by the guard: read from its beginning.
     * At most 256 KiB per call, so a flood costs bounded memory; the rest comes next time.
     */
    public List<Denial> poll() throws IOException {
      List<Denial> out = new ArrayList<>();
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        return out;
      }
      try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        long size = ch.size();
        if (size < offset) {
          offset = 0;
          partial.setLength(0);
        }
        ch.position(offset);
        byte[] buf;
        try (InputStream in = java.nio.channels.Channels.newInputStream(ch)) {
          buf = in.readNBytes((int) Math.min(256 * 1024, size - offset));
        }
        offset += buf.length;
        for (byte b : buf) {
          if (b == '\n') {
            Denial d = partial.length() <= MAX_LINE ? parse(partial.toString()) : null;
            if (d != null) {
              out.add(d);
            }
            partial.setLength(0);
          } else if (partial.length() <= MAX_LINE) {
            partial.append((char) (b & 0xff));
          }
        }
      }
      return out;
    }
  }
}
