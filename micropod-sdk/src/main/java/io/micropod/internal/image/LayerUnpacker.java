package io.micropod.internal.image;

import io.micropod.internal.files.FileTrees;
import io.micropod.ImageException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies image layers (tar, optionally gzip- or zstd-compressed) onto a root directory, bottom layer
 * first, the way a container runtime's snapshotter would.
 *
 * <h2>Safety</h2>
 * The root is treated as a chroot: every path is resolved component by component without letting
 * the OS follow symlinks; a symlink in a parent path is followed only inside the root (absolute
 * targets are relative to the root, as the container sees them). The whole layer is rejected, with
 * an {@link ImageException} naming the entry, when an entry name or hardlink target is absolute,
 * has a {@code ..} component, or resolves through a symlink that leaves the root, or when a
 * hardlink targets a directory or a missing file. Regular files are created with
 * {@code O_EXCL}, so nothing is ever written through a symlink. The caller unpacks into a
 * private directory and discards it on failure.
 *
 * <h2>What is applied</h2>
 * Whiteouts ({@code .wh.<name>} deletes a lower entry, {@code .wh..wh..opq} empties a directory
 * of lower entries), regular files, directories, symlinks, hardlinks (inside the root), modes
 * (including setuid/setgid/sticky) and modification times; ownership only when running as root.
 * Device nodes and FIFOs are skipped (DEBUG log): nothing is ever created with {@code mknod} on
 * the host, and no host device is opened; the guest's container gets its {@code /dev} from the
 * runtime (runc), as with Docker, so images need none of their own. A skipped entry still
 * replaces (deletes) a lower entry of the same name, as it would in an overlay. Directory modes and times are applied by
 * {@link #finish()}, after all layers, so that read-only directories can still be filled; each is
 * applied only if the path still reaches, through real directories (no symlink followed), the
 * very directory recorded (same file key); every attribute is set with NOFOLLOW_LINKS.
 *
 * <p>Not thread-safe; one instance per tree being built.
 */
public final class LayerUnpacker {
  private static final Logger log = LoggerFactory.getLogger(LayerUnpacker.class);

  static final String WHITEOUT_PREFIX = ".wh.";
  static final String OPAQUE_WHITEOUT = ".wh..wh..opq";
  private static final int MAX_SYMLINK_HOPS = 40;

  private final Path root;
  private final String imageRef;
  private final boolean applyOwnership;
  /**
   * Directory -> mode and mtime, applied by {@link #finish()}. Keyed by path, so each entry also
   * holds the directory's file key: a later entry may replace a parent with a symlink, and the
   * path would then name something else, possibly outside the root.
   */
  private final Map<Path, DirAttributes> pendingDirs = new LinkedHashMap<>();

  private record DirAttributes(int mode, FileTime mtime, Object fileKey) {}

  /**
   * @param root an existing, empty (or partially built) directory that becomes the image's /
   * @param imageRef names the image in error messages
   * @param applyOwnership whether to apply the entries' uid/gid (needs root)
   */
  public LayerUnpacker(Path root, String imageRef, boolean applyOwnership) {
    this.root = root.toAbsolutePath().normalize();
    this.imageRef = imageRef;
    this.applyOwnership = applyOwnership;
    pendingDirs.put(this.root, new DirAttributes(0755, null, fileKey(this.root)));
  }

  /**
   * Applies one layer read from {@code layer} (tar, gzip- or zstd-compressed tar, detected by
   * magic bytes, whatever the media type says). Reads the archive to its end but does not close
   * {@code layer}.
   *
   * @param layerName names the layer in errors, e.g. its digest
   * @throws ImageException when the layer is hostile or malformed
   */
  public void apply(InputStream layer, String layerName) throws IOException {
    BufferedInputStream in = new BufferedInputStream(layer, 65536);
    in.mark(4);
    byte[] magic = in.readNBytes(4);
    in.reset();
    InputStream tarStream;
    if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
      tarStream = new GzipCompressorInputStream(in, true);
    } else if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
        && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
      tarStream = new ZstdCompressorInputStream(in);
    } else {
      tarStream = in;
    }
    Set<Path> addedThisLayer = new HashSet<>();
    TarArchiveInputStream tar = new TarArchiveInputStream(tarStream);
    TarArchiveEntry entry;
    int count = 0;
    while ((entry = tar.getNextEntry()) != null) {
      count++;
      applyEntry(tar, entry, layerName, addedThisLayer);
    }
    OciLayout.drain(tarStream);
    log.debug("applied layer {} of {}: {} entries", layerName, imageRef, count);
  }

  private void applyEntry(
      TarArchiveInputStream tar, TarArchiveEntry entry, String layerName, Set<Path> added)
      throws IOException {
    String name = entry.getName();
    List<String> parts = components(name, layerName, "entry");
    if (parts.isEmpty()) {
      if (entry.isDirectory()) {
        pendingDirs.put(root, new DirAttributes(mode(entry), entry.getLastModifiedTime(), fileKey(root)));
      }
      return;
    }
    String base = parts.get(parts.size() - 1);
    List<String> parentParts = parts.subList(0, parts.size() - 1);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      applyWhiteout(name, base, parentParts, layerName, added);
      return;
    }
    if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
      log.debug("layer {} of {}: skipping device node or FIFO {}", layerName, imageRef, name);
      Path dir = resolveDir(parentParts, false, name, layerName);
      if (dir != null && attributes(dir.resolve(base)) != null) {
        remove(dir.resolve(base));
      }
      return;
    }
    Path parent = resolveDir(parentParts, true, name, layerName);
    Path target = parent.resolve(base);
    BasicFileAttributes existing = attributes(target);

    if (entry.isDirectory()) {
      if (existing != null && !existing.isDirectory()) {
        remove(target);
        existing = null;
      }
      if (existing == null) {
        Files.createDirectory(target);
      }
      setOwner(entry, target);
      pendingDirs.put(target, new DirAttributes(mode(entry), entry.getLastModifiedTime(), fileKey(target)));
      added.add(target);
      return;
    }
    if (entry.isLink()) {
      Path source = resolveHardlinkSource(entry.getLinkName(), name, layerName);
      if (source.equals(target)) {
        return;
      }
      if (existing != null) {
        remove(target);
      }
      Files.createLink(target, source);
      added.add(target);
      return;
    }
    if (existing != null) {
      remove(target);
    }
    if (entry.isSymbolicLink()) {
      String linkName = entry.getLinkName();
      if (linkName.isEmpty() || linkName.indexOf('\0') >= 0) {
        throw reject(layerName, name, "has an empty or invalid symlink target");
      }
      Files.createSymbolicLink(target, Path.of(linkName));
      setOwner(entry, target);
      setTimes(target, entry.getLastModifiedTime());
      added.add(target);
      return;
    }
    if (!entry.isFile()) {
      log.debug("layer {} of {}: skipping entry {} of unsupported type '{}'",
          layerName, imageRef, name, (char) entry.getLinkFlag());
      return;
    }
    try (OutputStream out = Files.newOutputStream(
        target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      tar.transferTo(out);
    }
    setOwner(entry, target);
    Files.setAttribute(target, "unix:mode", mode(entry), LinkOption.NOFOLLOW_LINKS);
    setTimes(target, entry.getLastModifiedTime());
    added.add(target);
  }

  private void applyWhiteout(
      String name, String base, List<String> parentParts, String layerName, Set<Path> added)
      throws IOException {
    if (base.equals(OPAQUE_WHITEOUT)) {
      Path dir = resolveDir(parentParts, true, name, layerName);
      try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
        for (Path child : children) {
          if (!added.contains(child)) {
            remove(child);
          }
        }
      }
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
      log.debug("layer {} of {}: skipping AUFS metadata {}", layerName, imageRef, name);
      return;
    }
    String victim = base.substring(WHITEOUT_PREFIX.length());
    if (victim.isEmpty() || victim.equals(".") || victim.equals("..")) {
      throw reject(layerName, name, "is a whiteout of an invalid name");
    }
    Path dir = resolveDir(parentParts, false, name, layerName);
    if (dir == null) {
      return;
    }
    Path target = dir.resolve(victim);
    if (attributes(target) != null) {
      remove(target);
    }
  }

  private Path resolveHardlinkSource(String linkName, String name, String layerName)
      throws IOException {
    List<String> parts = components(linkName, layerName, "hardlink target of " + name + ":");
    if (parts.isEmpty()) {
      throw reject(layerName, name, "is a hardlink to the root directory");
    }
    Path dir = resolveDir(parts.subList(0, parts.size() - 1), false, name, layerName);
    Path source = dir == null ? null : dir.resolve(parts.get(parts.size() - 1));
    BasicFileAttributes a = source == null ? null : attributes(source);
    if (a == null) {
      throw reject(layerName, name, "is a hardlink to \"" + linkName + "\", which does not exist in the image");
    }
    if (a.isDirectory()) {
      throw reject(layerName, name, "is a hardlink to the directory \"" + linkName + "\"");
    }
    return source;
  }

  /**
   * Resolves directory components under the root like a chroot would, following symlinks only
   * inside the root. Creates missing directories when {@code create}; otherwise returns null for
   * a missing one.
   */
  private Path resolveDir(List<String> parts, boolean create, String name, String layerName)
      throws IOException {
    Deque<String> todo = new ArrayDeque<>(parts);
    List<String> stack = new ArrayList<>();
    int hops = 0;
    while (!todo.isEmpty()) {
      String c = todo.pollFirst();
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        if (stack.isEmpty()) {
          throw reject(layerName, name, "would be written through a symlink that points outside the root");
        }
        stack.remove(stack.size() - 1);
        continue;
      }
      Path next = join(stack).resolve(c);
      BasicFileAttributes a = attributes(next);
      if (a == null) {
        if (!create) {
          return null;
        }
        Files.createDirectory(next);
        pendingDirs.putIfAbsent(next, new DirAttributes(0755, null, fileKey(next)));
        stack.add(c);
      } else if (a.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw reject(layerName, name, "resolves through too many symlinks");
        }
        String target = Files.readSymbolicLink(next).toString();
        if (target.startsWith("/")) {
          stack.clear();
        }
        String[] targetParts = target.split("/");
        for (int i = targetParts.length - 1; i >= 0; i--) {
          todo.addFirst(targetParts[i]);
        }
      } else if (a.isDirectory()) {
        stack.add(c);
      } else {
        throw reject(layerName, name, "has a parent \"" + String.join("/", stack) + (stack.isEmpty() ? "" : "/")
            + c + "\" that is not a directory");
      }
    }
    return join(stack);
  }

  private Path join(List<String> stack) {
    Path p = root;
    for (String s : stack) {
      p = p.resolve(s);
    }
    return p;
  }

  /** Splits an archive path into components; rejects absolute paths, {@code ..} and NUL. */
  private List<String> components(String path, String layerName, String what) {
    if (path.indexOf('\0') >= 0) {
      throw new ImageException(imageRef, "layer " + layerName + " of " + imageRef + ": " + what
          + " \"" + path.replace('\0', '?') + "\" contains NUL; refusing the layer");
    }
    if (path.startsWith("/")) {
      throw new ImageException(imageRef, "layer " + layerName + " of " + imageRef + ": " + what
          + " \"" + path + "\" is an absolute path; refusing the layer (hostile or broken image)");
    }
    List<String> out = new ArrayList<>();
    for (String c : path.split("/")) {
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        throw new ImageException(imageRef, "layer " + layerName + " of " + imageRef + ": " + what
            + " \"" + path + "\" has a '..' component; refusing the layer (hostile or broken image)");
      }
      out.add(c);
    }
    return out;
  }

  private ImageException reject(String layerName, String entryName, String why) {
    return new ImageException(imageRef, "layer " + layerName + " of " + imageRef + ": entry \""
        + entryName + "\" " + why + "; refusing the layer (hostile or broken image)");
  }

  private static int mode(TarArchiveEntry entry) {
    return entry.getMode() & 07777;
  }

  private void setOwner(TarArchiveEntry entry, Path target) throws IOException {
    if (!applyOwnership) {
      return;
    }
    Files.setAttribute(target, "unix:uid", (int) entry.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(target, "unix:gid", (int) entry.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
  }

  /** Sets the mtime of {@code target} itself, never of what it links to. */
  private static void setTimes(Path target, FileTime mtime) {
    if (mtime == null) {
      return;
    }
    try {
      Files.getFileAttributeView(target, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(mtime, null, null);
    } catch (IOException | UnsupportedOperationException e) {
      log.trace("cannot set mtime of {}: {}", target, e.toString());
    }
  }

  /**
   * Applies the modes and modification times of directories, deepest first. Call once, after
   * the last layer.
   */
  public void finish() throws IOException {
    List<Map.Entry<Path, DirAttributes>> dirs = new ArrayList<>(pendingDirs.entrySet());
    dirs.sort((a, b) -> Integer.compare(b.getKey().getNameCount(), a.getKey().getNameCount()));
    for (Map.Entry<Path, DirAttributes> e : dirs) {
      Path dir = e.getKey();
      if (!stillTheSameDirectory(dir, e.getValue().fileKey())) {
        // Deleted or replaced by a later entry, or a parent became a symlink: the path now names
        // something else (possibly outside the root), which must not get this entry's mode.
        log.debug("image {}: not applying the mode of {}, which was replaced", imageRef, dir);
        continue;
      }
      Files.setAttribute(dir, "unix:mode", e.getValue().mode(), LinkOption.NOFOLLOW_LINKS);
      setTimes(dir, e.getValue().mtime());
    }
    pendingDirs.clear();
  }

  /**
   * Whether {@code dir} is reached from the root through real directories only (each component
   * checked with NOFOLLOW_LINKS) and is still the directory whose file key was recorded.
   */
  private boolean stillTheSameDirectory(Path dir, Object fileKey) {
    if (!dir.startsWith(root)) {
      return false;
    }
    Path p = root;
    BasicFileAttributes a = attributes(p);
    if (a == null || !a.isDirectory()) {
      return false;
    }
    for (Path c : root.relativize(dir)) {
      if (c.toString().isEmpty()) {
        continue; // relativize(root) is the empty path
      }
      p = p.resolve(c);
      a = attributes(p);
      if (a == null || !a.isDirectory()) { // NOFOLLOW: a symlink is not a directory here
        return false;
      }
    }
    return fileKey == null || fileKey.equals(a.fileKey());
  }

  /** Deletes {@code p} (recursively) and forgets the pending attributes of it and below it. */
  private void remove(Path p) throws IOException {
    FileTrees.deleteTree(p);
    pendingDirs.keySet().removeIf(d -> d.startsWith(p));
  }

  private static Object fileKey(Path p) {
    BasicFileAttributes a = attributes(p);
    return a == null ? null : a.fileKey();
  }

  private static BasicFileAttributes attributes(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return null;
    }
  }
}
