package io.micropod.internal.files;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The directories MicroPod keeps per user (the home, its image store, the config directory) are
 * private to that user: 0700, so that pulled blobs (maybe of private images) and unpacked trees
 * are not readable by other local users whatever the umask or the modes inside them.
 */
public final class PrivateDirs {
  private static final Logger log = LoggerFactory.getLogger(PrivateDirs.class);
  public static final Set<PosixFilePermission> MODE = PosixFilePermissions.fromString("rwx------");

  private PrivateDirs() {}

  /**
   * Creates {@code dir} 0700 (its missing parents as usual), or tightens an existing one to 0700,
   * with a WARN saying so; returns {@code dir}. Non-POSIX file systems are left as they are.
   */
  public static Path ensure(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      if (dir.getParent() != null) {
        Files.createDirectories(dir.getParent());
      }
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(MODE));
      } catch (FileAlreadyExistsException e) {
        // another process made it; checked below
      } catch (UnsupportedOperationException e) {
        Files.createDirectories(dir);
        return dir;
      }
    }
    try {
      Set<PosixFilePermission> now = Files.getPosixFilePermissions(dir);
      if (!now.equals(MODE)) {
        Files.setPosixFilePermissions(dir, MODE);
        log.warn("{} was {}: tightened to rwx------ (MicroPod's store and config are private to the user)",
            dir, PosixFilePermissions.toString(now));
      }
    } catch (UnsupportedOperationException e) {
      // not POSIX: nothing to tighten
    }
    return dir;
  }
}
