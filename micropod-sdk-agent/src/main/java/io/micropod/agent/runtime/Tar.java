package io.micropod.agent.runtime;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A small tar (POSIX ustar + pax) reader and writer for CopyIn / CopyOut: regular files,
 * directories and symlinks with mode, uid, gid and modification time (whole seconds, as
 * {@code docker cp} keeps it); pax {@code path}, {@code linkpath}, {@code size} and {@code mtime}
 * and GNU long names are read; hard links, devices and fifos are skipped. The
 * agent's image ships no compression library and needs none of the rest.
 */
public final class Tar {
  static final int BLOCK = 512;

  private Tar() {}

  /** One entry of a stream; {@code mtime} in seconds since the epoch. */
  public record Entry(String name, char type, int mode, int uid, int gid, long size, String link,
      long mtime) {
    boolean isDirectory() {
      return type == '5';
    }

    boolean isFile() {
      return type == '0' || type == '\0' || type == '7';
    }

    boolean isSymlink() {
      return type == '2';
    }
  }

  // ---- extract ------------------------------------------------------------------------------

  /**
   * Extracts {@code in} into {@code dest} (a directory in the container root {@code root}):
   * every entry is resolved with {@link ContainerPaths} so that nothing lands outside the root.
   *
   * @return the number of entries extracted
   */
  public static long extract(InputStream in, Path root, Path dest) throws IOException {
    String destInRoot = "/" + root.relativize(dest);
    long count = 0;
    String paxPath = null;
    String paxLink = null;
    long paxSize = -1;
    Long paxMtime = null;
    String longName = null;
    // a directory's time is set after its entries are written, which change it: deepest last
    List<Map.Entry<Path, Long>> directoryTimes = new ArrayList<>();
    byte[] header = new byte[BLOCK];
    while (true) {
      if (!readBlock(in, header)) {
        break;
      }
      if (isZero(header)) {
        break;
      }
      verifyChecksum(header);
      char type = (char) header[156];
      long size = paxSize >= 0 ? paxSize : number(header, 124, 12);
      if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        byte[] data = readData(in, number(header, 124, 12));
        if (type == 'x') {
          for (String[] kv : pax(data)) {
            switch (kv[0]) {
              case "path" -> paxPath = kv[1];
              case "linkpath" -> paxLink = kv[1];
              case "size" -> paxSize = Long.parseLong(kv[1]);
              case "mtime" -> paxMtime = paxSeconds(kv[1]);
              default -> { }
            }
          }
        } else if (type == 'L') {
          longName = cString(data, 0, data.length);
        } else if (type == 'K') {
          paxLink = cString(data, 0, data.length);
        }
        continue;
      }
      String name = paxPath != null ? paxPath : longName != null ? longName : fullName(header);
      String link = paxLink != null ? paxLink : cString(header, 157, 100);
      Entry e = new Entry(name, type, (int) number(header, 100, 8), (int) number(header, 108, 8),
          (int) number(header, 116, 8), size, link,
          paxMtime != null ? paxMtime : number(header, 136, 12));
      paxPath = null;
      paxLink = null;
      paxSize = -1;
      paxMtime = null;
      longName = null;
      Path directory = write(in, root, destInRoot, e);
      if (directory != null) {
        directoryTimes.add(Map.entry(directory, e.mtime()));
      }
      count++;
    }
    for (int i = directoryTimes.size() - 1; i >= 0; i--) {
      mtime(directoryTimes.get(i).getKey(), directoryTimes.get(i).getValue());
    }
    return count;
  }

  /** A pax {@code mtime} ("1700000000.123456789"): its whole seconds. */
  private static long paxSeconds(String value) throws IOException {
    int dot = value.indexOf('.');
    try {
      return Long.parseLong(dot < 0 ? value : value.substring(0, dot));
    } catch (NumberFormatException e) {
      throw new IOException("bad pax mtime in tar stream: " + value);
    }
  }

  /**
   * Sets {@code p}'s modification time, on {@code p} itself (NOFOLLOW_LINKS, as
   * {@link #attributes}: never on what a symlink the container put there points to).
   */
  private static void mtime(Path p, long seconds) throws IOException {
    Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setTimes(FileTime.from(seconds, TimeUnit.SECONDS), null, null);
  }

  /** Writes one entry; returns the directory it made or kept, whose time is set at the end. */
  private static Path write(InputStream in, Path root, String destInRoot, Entry e)
      throws IOException {
    String name = e.name();
    while (name.endsWith("/")) {
      name = name.substring(0, name.length() - 1);
    }
    if (name.isEmpty() || name.equals(".")) {
      skip(in, e.isFile() ? e.size() : 0);
      return null;
    }
    for (String part : name.split("/")) {
      if (part.equals("..")) {
        throw new IOException("tar entry escapes its destination: " + e.name());
      }
    }
    String containerPath = destInRoot + "/" + name;
    int slash = containerPath.lastIndexOf('/');
    Path parent = ContainerPaths.mkdirs(root, containerPath.substring(0, slash));
    Path target = parent.resolve(containerPath.substring(slash + 1));
    if (e.isDirectory()) {
      if (Files.isSymbolicLink(target) || (Files.exists(target, LinkOption.NOFOLLOW_LINKS)
          && !Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS))) {
        Files.delete(target);
      }
      if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(target);
      }
      attributes(target, e);
      return target;
    }
    if (e.isSymlink()) {
      deleteNonDirectory(target);
      Files.createSymbolicLink(target, Path.of(e.link()));
      owner(target, e);
      mtime(target, e.mtime());
      return null;
    }
    if (!e.isFile()) {
      skip(in, e.size() > 0 && e.type() != '1' ? e.size() : 0);
      return null;
    }
    deleteNonDirectory(target);
    try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      copy(in, out, e.size());
    }
    skip(in, pad(e.size()));
    attributes(target, e);
    mtime(target, e.mtime());
    return null;
  }

  private static void deleteNonDirectory(Path target) throws IOException {
    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("cannot replace directory " + target + " with a file");
    }
    Files.deleteIfExists(target);
  }

  /**
   * Applies mode, then owner, to {@code p} itself. NOFOLLOW_LINKS: the container runs while we
   * copy, and may have swapped {@code p} for a symlink since it was created; following it would
   * chmod a file of the agent's choice outside the container root. A symlink fails (ELOOP).
   */
  static void attributes(Path p, Entry e) throws IOException {
    Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setPermissions(permissions(e.mode()));
    owner(p, e);
  }

  private static void owner(Path p, Entry e) throws IOException {
    Files.setAttribute(p, "unix:uid", e.uid(), LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", e.gid(), LinkOption.NOFOLLOW_LINKS);
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] all = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_READ
    };
    for (int i = 0; i < all.length; i++) {
      if ((mode & (1 << i)) != 0) {
        s.add(all[i]);
      }
    }
    return s;
  }

  static int mode(Set<PosixFilePermission> perms) {
    int m = 0;
    for (PosixFilePermission p : perms) {
      m |= 1 << (8 - p.ordinal());
    }
    return m;
  }

  // ---- create -------------------------------------------------------------------------------

  /**
   * Writes {@code source} (a file, symlink or directory, not followed) and, for a directory,
   * everything under it, as entries named {@code name}, {@code name/...}; then the end blocks.
   */
  public static void create(Path source, String name, OutputStream out) throws IOException {
    add(source, name, out);
    out.write(new byte[BLOCK * 2]);
    out.flush();
  }

  private static void add(Path p, String name, OutputStream out) throws IOException {
    PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    int gid = (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
    int mode = mode(a.permissions());
    long mtime = a.lastModifiedTime().to(TimeUnit.SECONDS);
    if (a.isSymbolicLink()) {
      header(out, new Entry(name, '2', mode, uid, gid, 0, Files.readSymbolicLink(p).toString(), mtime));
    } else if (a.isDirectory()) {
      header(out, new Entry(name + "/", '5', mode, uid, gid, 0, "", mtime));
      List<Path> children = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
        ds.forEach(children::add);
      }
      children.sort(null);
      for (Path c : children) {
        add(c, name + "/" + c.getFileName(), out);
      }
    } else if (a.isRegularFile()) {
      try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
        header(out, new Entry(name, '0', mode, uid, gid, a.size(), "", mtime));
        long n = in.transferTo(out);
        if (n != a.size()) {
          throw new IOException(p + " changed size while being copied");
        }
        out.write(new byte[(int) pad(a.size())]);
      }
    }
    // devices, fifos, sockets: skipped
  }

  static void header(OutputStream out, Entry e) throws IOException {
    byte[] nameBytes = e.name().getBytes(StandardCharsets.UTF_8);
    byte[] linkBytes = e.link().getBytes(StandardCharsets.UTF_8);
    boolean bigSize = e.size() > 077777777777L;
    if (nameBytes.length > 100 || linkBytes.length > 100 || bigSize) {
      StringBuilder pax = new StringBuilder();
      if (nameBytes.length > 100) {
        pax.append(record("path", e.name()));
      }
      if (linkBytes.length > 100) {
        pax.append(record("linkpath", e.link()));
      }
      if (bigSize) {
        pax.append(record("size", Long.toString(e.size())));
      }
      byte[] data = pax.toString().getBytes(StandardCharsets.UTF_8);
      out.write(block("PaxHeader", 'x', 0644, 0, 0, data.length, "", e.mtime()));
      out.write(data);
      out.write(new byte[(int) pad(data.length)]);
    }
    out.write(block(truncate(e.name()), e.type(), e.mode(), e.uid(), e.gid(),
        bigSize ? 0 : e.size(), truncate(e.link()), e.mtime()));
  }

  private static String truncate(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return b.length <= 100 ? s : new String(b, 0, 100, StandardCharsets.ISO_8859_1);
  }

  /** A pax record: "<len> key=value\n" where len counts the whole record. */
  static String record(String key, String value) {
    int body = key.getBytes(StandardCharsets.UTF_8).length
        + value.getBytes(StandardCharsets.UTF_8).length + 3;
    int len = body + String.valueOf(body).length();
    if (String.valueOf(len).length() != String.valueOf(body).length()) {
      len++;
    }
    return len + " " + key + "=" + value + "\n";
  }

  private static byte[] block(String name, char type, int mode, int uid, int gid, long size,
      String link, long mtime) {
    byte[] h = new byte[BLOCK];
    put(h, 0, 100, name.getBytes(charsetOf(name)));
    octal(h, 100, 8, mode);
    octal(h, 108, 8, uid);
    octal(h, 116, 8, gid);
    octal(h, 124, 12, size);
    octal(h, 136, 12, Math.max(0, Math.min(mtime, 077777777777L))); // ustar's 11 octal digits
    h[156] = (byte) type;
    put(h, 157, 100, link.getBytes(charsetOf(link)));
    put(h, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
    put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    octal(h, 148, 7, sum);
    return h;
  }

  /** Strings cut by {@link #truncate} are already bytes in ISO-8859-1 form. */
  private static java.nio.charset.Charset charsetOf(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    return utf8.length <= 100 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
  }

  private static void put(byte[] h, int off, int len, byte[] value) {
    System.arraycopy(value, 0, h, off, Math.min(len, value.length));
  }

  private static void octal(byte[] h, int off, int len, long value) {
    String s = Long.toOctalString(value);
    while (s.length() < len - 1) {
      s = "0" + s;
    }
    put(h, off, len - 1, s.getBytes(StandardCharsets.US_ASCII));
    h[off + len - 1] = 0;
  }

  // ---- reading helpers ----------------------------------------------------------------------

  static long pad(long size) {
    long r = size % BLOCK;
    return r == 0 ? 0 : BLOCK - r;
  }

  private static boolean readBlock(InputStream in, byte[] b) throws IOException {
    int n = in.readNBytes(b, 0, BLOCK);
    if (n == 0) {
      return false;
    }
    if (n < BLOCK) {
      throw new EOFException("truncated tar stream");
    }
    return true;
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static void verifyChecksum(byte[] h) throws IOException {
    long expected = number(h, 148, 8);
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
    }
    if (sum != expected) {
      throw new IOException("not a tar stream (bad header checksum)");
    }
  }

  private static byte[] readData(InputStream in, long size) throws IOException {
    if (size > 1 << 20) {
      throw new IOException("tar extension header larger than 1 MiB: " + size);
    }
    byte[] data = in.readNBytes((int) size);
    if (data.length != size) {
      throw new EOFException("truncated tar stream");
    }
    skip(in, pad(size));
    return data;
  }

  static List<String[]> pax(byte[] data) {
    List<String[]> out = new ArrayList<>();
    int i = 0;
    while (i < data.length) {
      int sp = i;
      while (sp < data.length && data[sp] != ' ') {
        sp++;
      }
      int len = Integer.parseInt(new String(data, i, sp - i, StandardCharsets.US_ASCII));
      String rec = new String(data, sp + 1, len - (sp - i) - 2, StandardCharsets.UTF_8);
      int eq = rec.indexOf('=');
      out.add(new String[] {rec.substring(0, eq), rec.substring(eq + 1)});
      i += len;
    }
    return out;
  }

  private static String fullName(byte[] h) {
    String name = cString(h, 0, 100);
    String magic = cString(h, 257, 6);
    if (magic.startsWith("ustar")) {
      String prefix = cString(h, 345, 155);
      if (!prefix.isEmpty()) {
        return prefix + "/" + name;
      }
    }
    return name;
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  static long number(byte[] h, int off, int len) throws IOException {
    if ((h[off] & 0x80) != 0) { // base-256
      long v = h[off] & 0x7f;
      for (int i = off + 1; i < off + len; i++) {
        v = (v << 8) | (h[i] & 0xff);
      }
      return v;
    }
    String s = cString(h, off, len).trim();
    if (s.isEmpty()) {
      return 0;
    }
    try {
      return Long.parseLong(s, 8);
    } catch (NumberFormatException e) {
      throw new IOException("bad number in tar header: " + s);
    }
  }

  private static void copy(InputStream in, OutputStream out, long size) throws IOException {
    byte[] buf = new byte[64 * 1024];
    long left = size;
    while (left > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new EOFException("truncated tar stream");
      }
      out.write(buf, 0, n);
      left -= n;
    }
  }

  private static void skip(InputStream in, long n) throws IOException {
    long left = n;
    while (left > 0) {
      long s = in.skip(left);
      if (s <= 0) {
        if (in.read() < 0) {
          throw new EOFException("truncated tar stream");
        }
        s = 1;
      }
      left -= s;
    }
  }
}
