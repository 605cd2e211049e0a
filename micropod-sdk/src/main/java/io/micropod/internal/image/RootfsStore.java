package io.micropod.internal.image;

import io.micropod.internal.files.FileLocks;
import io.micropod.internal.files.FileTrees;
import io.micropod.ImageException;
import io.micropod.internal.files.PrivateDirs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The content-addressed store of unpacked images: {@code <home>/store/rootfs/<manifest hex>/}
 * is the root filesystem of one image manifest, never modified once there (the guest mounts it
 * read-only under an overlay).
 *
 * <p>A tree is unpacked into {@code .tmp-<hex>-<random>} next to it and renamed into place
 * atomically, so a tree that exists is complete. A file lock
 * ({@code <home>/store/locks/<hex>.lock}) makes concurrent starts of one image, in this and other
 * JVMs, unpack it once. Thread-safe.
 */
public final class RootfsStore {
  private static final Logger log = LoggerFactory.getLogger(RootfsStore.class);

  private final Path rootfsDir;
  private final Path locksDir;
  private final boolean applyOwnership;

  public RootfsStore(Path home, boolean applyOwnership) {
    this.rootfsDir = home.resolve("store").resolve("rootfs");
    this.locksDir = home.resolve("store").resolve("locks");
    this.applyOwnership = applyOwnership;
  }

  /** Creates the store's directories 0700 (tightening existing ones); see {@link PrivateDirs}. */
  void makePrivate() throws IOException {
    PrivateDirs.ensure(rootfsDir.getParent().getParent());
    PrivateDirs.ensure(rootfsDir.getParent());
    PrivateDirs.ensure(rootfsDir);
    PrivateDirs.ensure(locksDir);
  }

  /**
   * Creates the store's directories 0700 and removes the {@code .tmp-<hex>-<n>} unpack trees a
   * killed JVM left. A tree is only removed when the lock of its image can be taken: a live
   * unpack (in any JVM) holds it. Returns how many were removed.
   */
  public int open() throws IOException {
    makePrivate();
    int removed = 0;
    try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(rootfsDir, ".tmp-*")) {
      for (Path tmp : ds) {
        String name = tmp.getFileName().toString();
        int dash = name.indexOf('-', 5);
        if (!Files.isDirectory(tmp, java.nio.file.LinkOption.NOFOLLOW_LINKS) || dash < 0) {
          continue; // not an unpack tree (block images have their own names and locks)
        }
        String hex = name.substring(5, dash);
        try (FileLocks.Held lock = FileLocks.tryLock(locksDir.resolve(hex + ".lock"))) {
          if (lock != null) { // else a live unpack, in this JVM or another, holds it
            FileTrees.deleteTree(tmp);
            removed++;
            log.info("removed {}, an unpack left unfinished by a process that ended", tmp);
          }
        }
      }
    }
    return removed;
  }

  /** Where the tree of {@code image} lives (whether or not it is there yet). */
  public Path treeOf(ResolvedImage image) {
    return rootfsDir.resolve(image.manifestHex());
  }

  /**
   * Returns the unpacked root filesystem of {@code image}, unpacking it first when needed.
   *
   * @throws ImageException when a layer is hostile, corrupted or unsupported
   */
  public Path prepare(ResolvedImage image) throws IOException, InterruptedException {
    Path tree = treeOf(image);
    if (Files.isDirectory(tree)) {
      return tree;
    }
    makePrivate();
    // other threads, runtimes of this JVM and other JVMs wait here while one unpacks
    try (FileLocks.Held lock = FileLocks.lock(locksDir.resolve(image.manifestHex() + ".lock"))) {
      if (Files.isDirectory(tree)) {
        return tree;
      }
      unpack(image, tree);
      return tree;
    }
  }

  private void unpack(ResolvedImage image, Path tree) throws IOException {
    String ref = image.ref().toString();
    long started = System.nanoTime();
    Path tmp = rootfsDir.resolve(".tmp-" + image.manifestHex() + "-" + Long.toHexString(System.nanoTime()));
    Files.createDirectory(tmp);
    boolean done = false;
    try {
      LayerUnpacker unpacker = new LayerUnpacker(tmp, ref, applyOwnership);
      for (Layer layer : image.layers()) {
        applyVerified(unpacker, layer, ref);
      }
      unpacker.finish();
      try {
        Files.move(tmp, tree, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot rename " + tmp + " to " + tree + " atomically", e);
      } catch (FileAlreadyExistsException e) {
        // someone without our lock protocol made it; theirs is as good as ours
        FileTrees.deleteTree(tmp);
      }
      done = true;
      log.info("unpacked {} ({} layers) into {} in {} ms", ref, image.layers().size(), tree,
          (System.nanoTime() - started) / 1_000_000);
    } finally {
      if (!done) {
        try {
          FileTrees.deleteTree(tmp);
        } catch (IOException e) {
          log.warn("cannot delete partial image tree {}: {}", tmp, e.toString());
        }
      }
    }
  }

  private static void applyVerified(LayerUnpacker unpacker, Layer layer, String ref)
      throws IOException {
    String algorithm = layer.digest().substring(0, layer.digest().indexOf(':'));
    MessageDigest md = OciLayout.messageDigest(algorithm);
    try (InputStream raw = Files.newInputStream(layer.blob());
        DigestInputStream in = new DigestInputStream(raw, md)) {
      unpacker.apply(in, layer.digest());
      OciLayout.drain(in);
    }
    String actual = algorithm + ":" + HexFormat.of().formatHex(md.digest());
    if (!actual.equals(layer.digest())) {
      throw new ImageException(ref, "layer blob " + layer.blob() + " does not match its digest "
          + layer.digest() + " (it hashes to " + actual + "): the layout is corrupted; copy it again");
    }
  }
}
