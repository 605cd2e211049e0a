package io.micropod.internal.tar;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * The host side of CopyIn / CopyOut: POSIX (pax) tar streams of files, directories and symlinks
 * with their permission bits. Extraction never writes outside its target: names with {@code ..}
 * or absolute names are refused, and no entry is written through a symlink. Only directories,
 * regular files and symlinks are created; only the rwx permission bits are applied, on the entry
 * itself (never through a symlink); the host never gets setuid/setgid/sticky bits, device nodes,
 * FIFOs or hard links from a stream.
 */
public final class TarStreams {
  private TarStreams() {}

  /** Writes {@code source} (file, directory tree or symlink, not followed) as {@code name}. */
  public static void write(Path source, String name, OutputStream out) throws IOException {
    TarArchiveOutputStream tar = tarOut(out);
    add(tar, source, name);
    tar.finish();
    tar.flush();
  }

  /** Writes one file {@code name} of {@code content} with permission bits {@code mode}. */
  public static void writeBytes(byte[] content, String name, int mode, OutputStream out)
      throws IOException {
    TarArchiveOutputStream tar = tarOut(out);
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(0100000 | mode);
    e.setSize(content.length);
    tar.putArchiveEntry(e);
    tar.write(content);
    tar.closeArchiveEntry();
    tar.finish();
    tar.flush();
  }

  private static TarArchiveOutputStream tarOut(OutputStream out) {
    TarArchiveOutputStream tar = new TarArchiveOutputStream(out, 512 * 20, "UTF-8");
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    tar.setAddPaxHeadersForNonAsciiNames(true);
    return tar;
  }

  private static void add(TarArchiveOutputStream tar, Path p, String name) throws IOException {
    if (Files.isSymbolicLink(p)) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
      e.setLinkName(Files.readSymbolicLink(p).toString());
      e.setModTime(Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
      tar.putArchiveEntry(e);
      tar.closeArchiveEntry();
      return;
    }
    int mode = mode(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      TarArchiveEntry e = new TarArchiveEntry(name + "/");
      e.setMode(040000 | mode);
      e.setModTime(Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
      tar.putArchiveEntry(e);
      tar.closeArchiveEntry();
      List<Path> children;
      try (Stream<Path> s = Files.list(p)) {
        children = s.sorted().toList();
      }
      for (Path c : children) {
        add(tar, c, name + "/" + c.getFileName());
      }
    } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      TarArchiveEntry e = new TarArchiveEntry(name);
      e.setMode(0100000 | mode);
      e.setSize(Files.size(p));
      e.setModTime(Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
      tar.putArchiveEntry(e);
      try (InputStream in = Files.newInputStream(p)) {
        in.transferTo(tar);
      }
      tar.closeArchiveEntry();
    }
    // sockets, fifos, devices: skipped
  }

  /**
   * Extracts {@code in} so that its top-level entry becomes {@code target} (which must not exist):
   * {@code name} goes to {@code target}, {@code name/x} to {@code target/x}.
   */
  public static void extract(InputStream in, Path target) throws IOException {
    TarArchiveInputStream tar = new TarArchiveInputStream(in, "UTF-8");
    String top = null;
    // a directory's time is set once its entries are written (they change it), deepest first
    List<Map.Entry<Path, FileTime>> directoryTimes = new ArrayList<>();
    TarArchiveEntry e;
    while ((e = tar.getNextEntry()) != null) {
      String name = e.getName();
      while (name.endsWith("/")) {
        name = name.substring(0, name.length() - 1);
      }
      if (name.startsWith("/") || name.isEmpty()) {
        throw new IOException("unsafe tar entry name: " + e.getName());
      }
      String[] parts = name.split("/");
      for (String part : parts) {
        if (part.equals("..")) {
          throw new IOException("unsafe tar entry name: " + e.getName());
        }
      }
      if (top == null) {
        top = parts[0];
      } else if (!parts[0].equals(top)) {
        throw new IOException("tar stream has more than one top-level entry: " + e.getName());
      }
      Path dest = target;
      for (int i = 1; i < parts.length; i++) {
        if (Files.isSymbolicLink(dest)) {
          throw new IOException("tar entry " + e.getName() + " would be written through a symlink");
        }
        dest = dest.resolve(parts[i]);
      }
      if (Files.isSymbolicLink(dest.getParent())) {
        throw new IOException("tar entry " + e.getName() + " would be written through a symlink");
      }
      if (e.isDirectory()) {
        if (!Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectory(dest);
        }
        setPermissions(dest, e.getMode() | 0700);
        directoryTimes.add(Map.entry(dest, e.getLastModifiedTime()));
      } else if (e.isSymbolicLink()) {
        Files.deleteIfExists(dest);
        Files.createSymbolicLink(dest, Path.of(e.getLinkName()));
        setModified(dest, e.getLastModifiedTime());
      } else if (isRegularFile(e)) {
        Files.deleteIfExists(dest);
        Files.copy(tar, dest, StandardCopyOption.REPLACE_EXISTING);
        setPermissions(dest, e.getMode());
        setModified(dest, e.getLastModifiedTime());
      }
      // Hard links, device nodes, FIFOs and anything else the guest sends are skipped: the
      // host never gets a device node or a link to one of its own files from a container.
    }
    if (top == null) {
      throw new IOException("empty tar stream");
    }
    for (int i = directoryTimes.size() - 1; i >= 0; i--) {
      setModified(directoryTimes.get(i).getKey(), directoryTimes.get(i).getValue());
    }
  }

  /** The entry's modification time, as {@code docker cp} keeps it; on {@code p} itself. */
  private static void setModified(Path p, FileTime time) throws IOException {
    if (time != null) {
      Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(time, null, null);
    }
  }

  /**
   * Only type '0' (or the old '\0') is a regular file. commons-compress's {@code isFile()} also
   * says true for other types whose name has no trailing slash (hard links, devices, FIFOs).
   */
  private static boolean isRegularFile(TarArchiveEntry e) {
    byte t = e.getLinkFlag();
    return (t == TarConstants.LF_NORMAL || t == TarConstants.LF_OLDNORM) && !e.getName().endsWith("/");
  }

  /**
   * Sets the rwx bits only (setuid, setgid and sticky from the guest are never applied on the
   * host), on {@code p} itself: NOFOLLOW_LINKS, so a symlink at {@code p} fails instead of
   * handing its target the mode.
   */
  private static void setPermissions(Path p, int mode) throws IOException {
    Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setPermissions(permissions(mode & 0777));
  }

  static int mode(Set<PosixFilePermission> perms) {
    int m = 0;
    for (PosixFilePermission p : perms) {
      m |= 1 << (8 - p.ordinal());
    }
    return m;
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission p : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - p.ordinal()))) != 0) {
        s.add(p);
      }
    }
    return s;
  }
}
