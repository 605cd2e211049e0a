package io.micropod.internal.image;

import io.micropod.internal.files.FileLocks;
import io.micropod.ImageException;
import java.io.IOException;
import io.micropod.internal.files.PrivateDirs;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The content-addressed blob store shared by every pod and process of a user:
 * {@code <home>/store/blobs/sha256/<hex>}, manifests, configs and layers as the registry served
 * them. A blob is downloaded to {@code .partial-<hex>} next to it (kept across failed attempts
 * and crashes so that the next pull resumes), verified by the fetcher, and renamed into place
 * atomically, so a blob that exists is complete and verified. A file lock
 * ({@code <home>/store/locks/blob-<hex>.lock}) makes concurrent pulls of one blob, by threads or
 * by JVMs, download it once. Thread-safe.
 */
public final class BlobStore {
  private static final Pattern SHA256 = Pattern.compile("sha256:[a-f0-9]{64}");

  private final Path dir;
  private final Path locksDir;

  /** Writes the blob into the given partial file, verifying it; see {@code RegistryClient#blob}. */
  @FunctionalInterface
  public interface Fetcher {
    void fetchInto(Path partial) throws IOException, InterruptedException;
  }

  public BlobStore(Path home) {
    this.dir = home.resolve("store").resolve("blobs").resolve("sha256");
    this.locksDir = home.resolve("store").resolve("locks");
  }

  /** Creates the store's directories 0700 (tightening existing ones); see {@link PrivateDirs}. */
  void makePrivate() throws IOException {
    PrivateDirs.ensure(dir.getParent().getParent().getParent());
    PrivateDirs.ensure(dir.getParent().getParent());
    PrivateDirs.ensure(dir.getParent());
    PrivateDirs.ensure(dir);
    PrivateDirs.ensure(locksDir);
  }

  /**
   * Removes what a killed JVM left: {@code .put-*.tmp} files (manifests and configs, written in
   * milliseconds, so one older than {@code staleMillis} has no writer). {@code .partial-<hex>}
   * downloads are kept on purpose: the next pull resumes them, and they are verified by sha256
   * before they become a blob. Returns how many were removed.
   */
  public void open() throws IOException {
    makePrivate();
    removeStaleTemporaries(STALE_PUT_MILLIS);
  }

  static final long STALE_PUT_MILLIS = 10 * 60_000L;

  int removeStaleTemporaries(long staleMillis) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    int removed = 0;
    long cutoff = System.currentTimeMillis() - staleMillis;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".put-*.tmp")) {
      for (Path p : ds) {
        if (Files.getLastModifiedTime(p).toMillis() < cutoff && Files.deleteIfExists(p)) {
          removed++;
        }
      }
    }
    return removed;
  }

  static void checkDigest(String digest) {
    if (!SHA256.matcher(digest).matches()) {
      throw new IllegalArgumentException("not a sha256 digest: " + digest);
    }
  }

  /** Where blob {@code digest} lives (whether or not it is there). */
  public Path path(String digest) {
    checkDigest(digest);
    return dir.resolve(digest.substring(7));
  }

  public boolean has(String digest) {
    return Files.isRegularFile(path(digest));
  }

  /**
   * Returns blob {@code digest}, fetching it with {@code fetcher} first unless it is there.
   *
   * @return whether this call downloaded it
   */
  public boolean ensure(String digest, long size, Fetcher fetcher) throws IOException, InterruptedException {
    Path blob = path(digest);
    if (Files.isRegularFile(blob)) {
      return false;
    }
    makePrivate();
    try (FileLocks.Held lock = FileLocks.lock(locksDir.resolve("blob-" + digest.substring(7) + ".lock"))) {
      if (Files.isRegularFile(blob)) {
        return false;
      }
      Path partial = dir.resolve(".partial-" + digest.substring(7));
      fetcher.fetchInto(partial);
      if (Files.size(partial) != size) {
        Files.deleteIfExists(partial);
        throw new IOException("fetched blob " + digest + " has " + Files.size(partial) + " bytes, not " + size);
      }
      moveIntoPlace(partial, blob);
      return true;
    }
  }

  /** Stores {@code bytes} (a manifest or config already verified against {@code digest}). */
  public void put(String digest, byte[] bytes) throws IOException {
    Path blob = path(digest);
    if (Files.isRegularFile(blob)) {
      return;
    }
    makePrivate();
    Path tmp = Files.createTempFile(dir, ".put-", ".tmp");
    try {
      Files.write(tmp, bytes);
      moveIntoPlace(tmp, blob);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Reads a small blob (a manifest or config) and checks it against its digest.
   *
   * @throws ImageException naming {@code ref} when the stored blob is corrupted (it is deleted)
   */
  public byte[] read(String ref, String digest) throws IOException {
    Path blob = path(digest);
    byte[] bytes = Files.readAllBytes(blob);
    String actual = "sha256:" + HexFormat.of().formatHex(OciLayout.messageDigest("sha256").digest(bytes));
    if (!actual.equals(digest)) {
      Files.deleteIfExists(blob);
      throw new ImageException(ref, "the stored blob " + blob + " is corrupted (it hashes to " + actual
          + "); it was deleted: pull the image again");
    }
    return bytes;
  }

  /** The digests of every stored blob. */
  public Set<String> list() throws IOException {
    Set<String> out = new TreeSet<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (name.length() == 64 && !name.startsWith(".")) {
          out.add("sha256:" + name);
        }
      }
    }
    return out;
  }

  /** Deletes blob {@code digest} (under its lock); returns the bytes freed. */
  public long delete(String digest) throws IOException, InterruptedException {
    Path blob = path(digest);
    try (FileLocks.Held lock = FileLocks.lock(locksDir.resolve("blob-" + digest.substring(7) + ".lock"))) {
      long size = Files.isRegularFile(blob) ? Files.size(blob) : 0;
      Files.deleteIfExists(blob);
      Files.deleteIfExists(dir.resolve(".partial-" + digest.substring(7)));
      return size;
    }
  }

  private static void moveIntoPlace(Path from, Path to) throws IOException {
    // the data reaches the disk before the name does: after a power loss a blob that exists is
    // still complete (a rename is journaled, unwritten data is not)
    try (FileChannel ch = FileChannel.open(from, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot rename " + from + " to " + to + " atomically", e);
    }
  }
}
