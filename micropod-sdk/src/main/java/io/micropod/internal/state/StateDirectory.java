package io.micropod.internal.state;

import io.micropod.internal.files.FileLocks;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pod records under {@code <config>/pods/}: one {@code <id>.json} per pod (0600, in a 0700
 * directory). Every change runs under {@code <config>/pods/.lock} (a {@link FileLocks} lock, which
 * serialises threads and processes) and is written atomically: a temp file in the same directory, fsync, rename over the
 * old one, fsync of the directory. A crash at any point leaves either the old record or the new
 * one, never a torn file; stray temp files are removed by the next sweep. Thread-safe.
 */
public final class StateDirectory {
  private static final Logger log = LoggerFactory.getLogger(StateDirectory.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String SUFFIX = ".json";
  private static final String TEMP_PREFIX = ".tmp-";

  private final Path dir;

  /** @param configDir the MicroPod config directory; records live in its {@code pods/} */
  public StateDirectory(Path configDir) {
    this.dir = configDir.toAbsolutePath().normalize().resolve("pods");
  }

  public Path dir() {
    return dir;
  }

  public Path fileOf(String id) {
    return dir.resolve(id + SUFFIX);
  }

  private void ensureDir() throws IOException {
    if (!Files.isDirectory(dir)) {
      io.micropod.internal.files.PrivateDirs.ensure(dir.getParent()); // the config dir: 0700 too
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (FileAlreadyExistsException e) {
        // another process made it
      }
    }
  }

  /**
   * Runs {@code action} with the thread's interrupt flag cleared, then sets it again if it was
   * set: file channels are interruptible (an interrupt closes them), and a record half-handled
   * because the caller was interrupted would be worse than finishing these short writes. The
   * caller's next interruptible step sees the flag.
   */
  private static <T> T uninterruptibly(Supplier<T> action) {
    boolean interrupted = Thread.interrupted();
    try {
      return action.get();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Runs {@code action} holding the state lock (this JVM's and the file lock). */
  public <T> T locked(Supplier<T> action) {
    return uninterruptibly(() -> lockedNow(action));
  }

  private <T> T lockedNow(Supplier<T> action) {
    try {
      ensureDir();
      try (FileLocks.Held held = FileLocks.lockIo(dir.resolve(".lock"))) {
        return action.get();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lock the pod state directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Writes {@code record} atomically, under the lock. */
  public void write(PodRecord record) {
    locked(() -> {
      writeLocked(record);
      return null;
    });
  }

  /** Writes {@code record} atomically; the caller holds the lock. */
  public void writeLocked(PodRecord record) {
    uninterruptibly(() -> {
      writeNow(record);
      return null;
    });
  }

  private void writeNow(PodRecord record) {
    Path tmp = null;
    try {
      ensureDir();
      byte[] bytes = JSON.writeValueAsBytes(record);
      tmp = Files.createTempFile(dir, TEMP_PREFIX + record.id() + "-", ".part",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      try {
        Files.move(tmp, fileOf(record.id()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("the file system of " + dir + " cannot rename atomically", e);
      }
      tmp = null;
      syncDir();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the record of pod " + record.id() + " to " + fileOf(record.id())
          + ": " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // swept later
        }
      }
    }
  }

  private void syncDir() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      log.debug("cannot fsync {}: {}", dir, e.toString());
    }
  }

  /** The record of {@code id}, if any. */
  public Optional<PodRecord> read(String id) {
    return uninterruptibly(() -> readNow(id));
  }

  private Optional<PodRecord> readNow(String id) {
    Path f = fileOf(id);
    try {
      return Optional.of(JSON.readValue(Files.readAllBytes(f), PodRecord.class));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      log.warn("ignoring unreadable pod record {}: {}", f, e.toString());
      return Optional.empty();
    }
  }

  /** Every readable record, oldest first. Unreadable files are logged at WARN and skipped. */
  public List<PodRecord> all() {
    List<PodRecord> records = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return records;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        read(name.substring(0, name.length() - SUFFIX.length())).ifPresent(records::add);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    records.sort(Comparator.comparing(r -> r.createdAt() == null ? "" : r.createdAt()));
    return records;
  }

  /** Deletes the record of {@code id} (no-op when absent). */
  public void delete(String id) {
    try {
      Files.deleteIfExists(fileOf(id));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + fileOf(id) + ": " + e.getMessage(), e);
    }
  }

  /** Removes temp files a crash mid-write left (older than a minute); the caller holds the lock. */
  void removeStrayTemps() {
    if (!Files.isDirectory(dir)) {
      return;
    }
    long cutoff = System.currentTimeMillis() - 60_000;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
      for (Path f : files) {
        if (Files.getLastModifiedTime(f).toMillis() < cutoff) {
          Files.deleteIfExists(f);
        }
      }
    } catch (IOException e) {
      log.debug("cannot sweep temp files in {}: {}", dir, e.toString());
    }
  }
}
