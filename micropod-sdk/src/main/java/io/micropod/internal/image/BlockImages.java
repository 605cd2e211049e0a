package io.micropod.internal.image;

import io.micropod.internal.base.HostCommand;
import io.micropod.internal.files.FileLocks;
import java.io.File;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Read-only ext4 images of unpacked image trees, for VMMs without virtio-fs (Firecracker) and the
 * QEMU driver's block mode: {@code <home>/store/rootfs/<manifest hex>.ext4}, beside the tree
 * {@code <home>/store/rootfs/<manifest hex>/} it is made from, built once and never modified
 * (the VMM attaches it read-only; the guest mounts it read-only under an overlay).
 *
 * <p>Built with {@code mkfs.ext4 -d <tree>} (e2fsprogs, no root needed) into
 * {@code .tmp-<hex>-<random>.ext4} and renamed into place atomically, under a file lock
 * ({@code <home>/store/locks/<hex>.ext4.lock}) so that concurrent starts in this and other JVMs
 * build it once. No journal (never written), no reserved blocks, 4 KiB blocks; the size is the
 * tree's blocks and inodes plus a margin ({@link #sizeBytes}). ext4, not erofs: the guest kernel
 * has ext4 built in, and the guest image ships no erofs module. Thread-safe.
 */
public final class BlockImages {
  private static final Logger log = LoggerFactory.getLogger(BlockImages.class);
  private static final long BLOCK = 4096;
  private static final long MIB = 1024 * 1024;
  private static final long MKFS_TIMEOUT_SECONDS = 300;

  private final Path rootfsDir;
  private final Path locksDir;
  private final List<String> path;

  /**
   * @param home the MicroPod home
   * @param pathEnv the {@code PATH} to find {@code mkfs.ext4} on ({@code /usr/sbin} and
   *     {@code /sbin} are always looked at too)
   */
  public BlockImages(Path home, String pathEnv) {
    this.rootfsDir = home.resolve("store").resolve("rootfs");
    this.locksDir = home.resolve("store").resolve("locks");
    List<String> dirs = new ArrayList<>();
    if (pathEnv != null) {
      for (String d : pathEnv.split(File.pathSeparator)) {
        if (!d.isEmpty()) {
          dirs.add(d);
        }
      }
    }
    dirs.add("/usr/sbin");
    dirs.add("/sbin");
    this.path = List.copyOf(dirs);
  }

  /** The image of {@code tree} (a directory of the rootfs store), whether or not it exists yet. */
  public Path imageOf(Path tree) {
    return tree.resolveSibling(tree.getFileName() + ".ext4");
  }

  /**
   * Returns the ext4 image of {@code tree}, building it first when needed.
   *
   * @throws IOException when mkfs.ext4 is missing or fails (its output is in the message)
   */
  public Path prepare(Path tree) throws IOException, InterruptedException {
    Path image = imageOf(tree);
    if (Files.isRegularFile(image)) {
      return image;
    }
    String name = tree.getFileName().toString();
    // other threads, runtimes of this JVM and other JVMs wait here while one builds
    try (FileLocks.Held lock = FileLocks.lock(locksDir.resolve(name + ".ext4.lock"))) {
      if (Files.isRegularFile(image)) {
        return image;
      }
      build(tree, image);
      return image;
    }
  }

  private void build(Path tree, Path image) throws IOException, InterruptedException {
    long started = System.nanoTime();
    Path mkfs = findMkfs();
    Usage u = usage(tree);
    long size = sizeBytes(u);
    long inodes = u.inodes() + 64 + u.inodes() / 10;
    Path tmp = rootfsDir.resolve(".tmp-" + tree.getFileName() + "-" + Long.toHexString(System.nanoTime()) + ".ext4");
    boolean done = false;
    try {
      List<String> cmd = List.of(mkfs.toString(), "-q", "-F", "-t", "ext4", "-b", Long.toString(BLOCK),
          "-m", "0", "-N", Long.toString(inodes), "-O", "^has_journal,^resize_inode",
          "-L", "micropod-rootfs", "-E", "root_owner=0:0", "-d", tree.toString(),
          tmp.toString(), (size / 1024) + "k");
      try {
        HostCommand.run(cmd, Duration.ofSeconds(MKFS_TIMEOUT_SECONDS));
      } catch (java.io.InterruptedIOException e) {
        // as before HostCommand: an interrupt stays an InterruptedException for prepare()'s callers
        // (HostCommand re-set the flag; an InterruptedException carries it instead)
        Thread.interrupted();
        throw new InterruptedException("interrupted while building the block image of " + tree);
      } catch (IOException e) {
        throw new IOException("cannot build the block image of " + tree + ": " + e.getMessage(), e);
      }
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r--r--r--"));
      try {
        Files.move(tmp, image, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot rename " + tmp + " to " + image + " atomically", e);
      }
      done = true;
      log.info("built block image {} ({} MiB, {} files) in {} ms", image, size / MIB, u.inodes(),
          (System.nanoTime() - started) / 1_000_000);
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  private Path findMkfs() throws IOException {
    for (String d : path) {
      Path p = Path.of(d, "mkfs.ext4");
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    throw new IOException("mkfs.ext4 not found on PATH nor in /usr/sbin, /sbin: the block rootfs needs it "
        + "(Debian/Ubuntu: apt-get install e2fsprogs; Fedora: dnf install e2fsprogs)");
  }

  /** Bytes in 4 KiB blocks and inodes (files, directories, links) of a tree. */
  record Usage(long blockBytes, long inodes) {}

  static Usage usage(Path tree) throws IOException {
    long[] acc = new long[2];
    Files.walkFileTree(tree, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        acc[0] += BLOCK;
        acc[1]++;
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        acc[1]++;
        if (attrs.isRegularFile()) {
          acc[0] += (attrs.size() + BLOCK - 1) / BLOCK * BLOCK;
        } else if (attrs.isSymbolicLink() && attrs.size() >= 60) {
          acc[0] += BLOCK;
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return new Usage(acc[0], acc[1]);
  }

  /**
   * The image size: the tree's blocks plus 256 bytes of inode table per inode (with 10 % spare
   * inodes), plus 10 % and 8 MiB for ext4's metadata (group descriptors, bitmaps, extent
   * blocks of large directories), rounded up to a MiB.
   */
  static long sizeBytes(Usage u) {
    long inodeTable = (u.inodes() + 64 + u.inodes() / 10) * 256;
    long raw = u.blockBytes() + inodeTable;
    long size = raw + raw / 10 + 8 * MIB;
    return (size + MIB - 1) / MIB * MIB;
  }
}
