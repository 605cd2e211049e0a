package io.micropod;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A file or directory copied into the container before its main process starts: either a host
 * path (a file or a whole directory tree, modes kept) or bytes with a mode. Immutable; the host
 * path is read at start, not when this value is made.
 */
public final class ContainerFile {
  private final Path hostPath;
  private final byte[] content;
  private final String containerPath;
  private final int mode;

  private ContainerFile(Path hostPath, byte[] content, String containerPath, int mode) {
    this.hostPath = hostPath;
    this.content = content;
    this.containerPath = containerPath;
    this.mode = mode;
  }

  /**
   * The host file or directory {@code hostPath}, copied to {@code containerPath} (absolute; the
   * file's or directory's own path in the container; missing parents are made).
   *
   * @param hostPath an existing file or directory on the host
   * @param containerPath the absolute path it gets in the container
   * @return a copy to make at start
   * @throws IllegalArgumentException when {@code hostPath} does not exist or
   *     {@code containerPath} is not absolute
   */
  public static ContainerFile fromHost(Path hostPath, String containerPath) {
    Objects.requireNonNull(hostPath, "hostPath");
    if (!Files.exists(hostPath)) {
      throw new IllegalArgumentException("host path does not exist: " + hostPath);
    }
    return new ContainerFile(hostPath, null, checkPath(containerPath), 0);
  }

  /**
   * A file of {@code content} at {@code containerPath} with permission bits {@code mode} (e.g.
   * {@code 0644}), owned by root.
   *
   * @param content the file's bytes; copied, so later changes to the array do not count
   * @param containerPath the absolute path of the file in the container
   * @param mode the permission bits, 0..0777
   * @return a file to write at start
   * @throws IllegalArgumentException when the mode is not 0..0777 or the path is not absolute
   */
  public static ContainerFile fromBytes(byte[] content, String containerPath, int mode) {
    Objects.requireNonNull(content, "content");
    if (mode < 0 || mode > 0777) {
      throw new IllegalArgumentException("mode is not 0..0777: " + Integer.toOctalString(mode));
    }
    return new ContainerFile(null, content.clone(), checkPath(containerPath), mode);
  }

  static String checkPath(String containerPath) {
    Objects.requireNonNull(containerPath, "containerPath");
    if (!containerPath.startsWith("/") || containerPath.equals("/")) {
      throw new IllegalArgumentException("containerPath is not an absolute file path: " + containerPath);
    }
    if (containerPath.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("containerPath contains NUL");
    }
    return containerPath;
  }

  /**
   * The host path, when this copies a host file or directory.
   *
   * @return the host path, or empty for a file of given bytes
   */
  public Optional<Path> hostPath() {
    return Optional.ofNullable(hostPath);
  }

  /**
   * The bytes, when this writes given content (a copy).
   *
   * @return a copy of the bytes, or empty for a host path
   */
  public Optional<byte[]> content() {
    return Optional.ofNullable(content).map(byte[]::clone);
  }

  /**
   * Where it goes in the container.
   *
   * @return the absolute path in the container
   */
  public String containerPath() {
    return containerPath;
  }

  /**
   * Permission bits of a bytes file; 0 for a host path (its own modes are kept).
   *
   * @return the permission bits of a bytes file, 0..0777; 0 for a host path
   */
  public int mode() {
    return mode;
  }

  @Override
  public String toString() {
    return (hostPath != null ? hostPath.toString() : content.length + " bytes") + " -> " + containerPath;
  }
}
