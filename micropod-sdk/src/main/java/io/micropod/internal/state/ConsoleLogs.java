package io.micropod.internal.state;

import io.micropod.HostUnsupportedException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The guest console logs under {@code <config>/logs/<id>.log} (0600, in a 0700 directory).
 *
 * <p>Retention: a pod's log is removed when the pod is closed normally, unless
 * {@code MICROPOD_DEBUG=1}; it is kept when the start failed, when the VM exited unexpectedly,
 * when the pod's owner died (the reaper keeps it as evidence), and with {@code MICROPOD_DEBUG=1};
 * an empty log (the VM never ran) is never kept.
 * Kept logs of pods that no longer exist are pruned to the newest {@value #KEEP_ENDED} by
 * {@link #prune}, which the runtime's sweep and every kept log run; logs of pods with a record are
 * never pruned. Thread-safe (file operations only).
 */
public final class ConsoleLogs {
  private static final Logger log = LoggerFactory.getLogger(ConsoleLogs.class);
  /** How many logs of ended pods are kept. */
  public static final int KEEP_ENDED = 20;
  private static final String SUFFIX = ".log";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*\\.log");
  private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");

  private final Path configDir;
  private final Path dir;

  /** @param configDir the MicroPod config directory; the logs live in its {@code logs/} */
  public ConsoleLogs(Path configDir) {
    this.configDir = configDir.toAbsolutePath().normalize();
    this.dir = this.configDir.resolve("logs");
  }

  public Path dir() {
    return dir;
  }

  public Path fileOf(String podId) {
    return dir.resolve(podId + SUFFIX);
  }

  /**
   * Creates the empty log of {@code podId} (0600; the directory 0700, tightened if it is not).
   *
   * @throws HostUnsupportedException when the directory cannot be made or written, naming it and
   *     what to do
   */
  public Path create(String podId) {
    Path file = fileOf(podId);
    try {
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(configDir);
        try {
          Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        } catch (FileAlreadyExistsException e) {
          // another process made it
        }
      }
      if (!Files.getPosixFilePermissions(dir).equals(DIR_MODE)) {
        Files.setPosixFilePermissions(dir, DIR_MODE);
      }
      Files.deleteIfExists(file);
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      return file;
    } catch (IOException | UnsupportedOperationException e) {
      throw unwritable(configDir, dir, e);
    }
  }

  /**
   * The error for a config directory this process cannot use: names the directory, the reason,
   * and the two ways out.
   */
  public static HostUnsupportedException unwritable(Path configDir, Path what, Exception e) {
    return new HostUnsupportedException(List.of("a writable MicroPod config directory: cannot create "
        + what + " (" + reason(e) + "); make " + configDir + " writable for user "
        + System.getProperty("user.name") + ", or set MICROPOD_CONFIG_DIR (or the system property "
        + "micropod.config.dir) to a directory this user can write"));
  }

  private static String reason(Throwable e) {
    Throwable c = e instanceof java.io.UncheckedIOException && e.getCause() != null ? e.getCause() : e;
    if (c instanceof java.nio.file.AccessDeniedException) {
      return "permission denied on " + ((java.nio.file.AccessDeniedException) c).getFile();
    }
    if (c instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
      return f.getReason() + (f.getFile() == null ? "" : " at " + f.getFile());
    }
    return c.toString();
  }

  /** Deletes the log of {@code podId}; absent is fine. */
  public void delete(String podId) {
    try {
      Files.deleteIfExists(fileOf(podId));
    } catch (IOException e) {
      log.warn("pod {}: cannot delete its console log {}: {}", podId, fileOf(podId), e.toString());
    }
  }

  /**
   * Keeps the log of {@code podId} (an empty one is deleted: the VM never wrote to it, e.g. a
   * start that failed before the VM ran), then prunes.
   *
   * @return whether the log was kept
   */
  public boolean keep(String podId, StateDirectory state) {
    Path file = fileOf(podId);
    boolean kept = true;
    try {
      if (Files.size(file) == 0) {
        Files.delete(file);
        kept = false;
      }
    } catch (IOException e) {
      kept = Files.exists(file);
    }
    prune(state);
    return kept;
  }

  /**
   * Deletes the logs of pods without a record in {@code state} beyond the newest
   * {@value #KEEP_ENDED}, oldest first. Failures are logged.
   *
   * @return how many were deleted
   */
  public int prune(StateDirectory state) {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    List<Path> ended = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (!NAME.matcher(name).matches() || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        String id = name.substring(0, name.length() - SUFFIX.length());
        if (!Files.exists(state.fileOf(id))) {
          ended.add(f);
        }
      }
    } catch (IOException e) {
      log.warn("cannot list the console logs in {}: {}", dir, e.toString());
      return 0;
    }
    if (ended.size() <= KEEP_ENDED) {
      return 0;
    }
    ended.sort(Comparator.comparing(ConsoleLogs::mtime).reversed());
    int deleted = 0;
    for (Path f : ended.subList(KEEP_ENDED, ended.size())) {
      try {
        Files.deleteIfExists(f);
        deleted++;
      } catch (IOException e) {
        log.warn("cannot delete the old console log {}: {}", f, e.toString());
      }
    }
    log.debug("pruned {} old console log(s) in {}", deleted, dir);
    return deleted;
  }

  private static FileTime mtime(Path f) {
    try {
      return Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return FileTime.fromMillis(0);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }
}
