package io.micropod;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A host directory mounted into the container, shared live with virtio-fs (changes on either
 * side are seen by the other at once; nothing is copied). Only the QEMU driver has virtio-fs:
 * a spec with mounts fails to start under Firecracker. Immutable and thread-safe.
 *
 * <pre>{@code
 * MicroPod.builder().image(image)
 *     .mount(Mount.readOnly(Path.of("src/test/resources/site"), "/www"))
 *     .mount(Mount.readWrite(outputDir, "/out"))
 *     .start();
 * }</pre>
 *
 * <p>What the guest can reach: only the directory itself and what lies under it. virtiofsd
 * serves it chrooted into the directory, so {@code ..} and symbolic links that point outside
 * (absolute or relative) resolve inside the guest, never to host files outside the directory.
 * Mount points under the directory (other file systems mounted inside it) are not shared in
 * read-only mounts. Read-only is enforced twice: the guest mounts it read-only (a write fails
 * with {@code EROFS}, "Read-only file system"), and virtiofsd serves a read-only bind mount of the
 * directory, so even a guest kernel that remounted it could not write to the host.
 *
 * <p>Ownership: files the container creates in a read-write mount belong to the container's
 * uid/gid on the host when the JVM runs as root, and to the JVM's user otherwise (virtiofsd then
 * runs in a user namespace where that user is root; containers writing as another uid then fail
 * with {@code EINVAL}: run them as root, the image default).
 */
public final class Mount {
  private final Path hostPath;
  private final String containerPath;
  private final boolean readOnly;

  private Mount(Path hostPath, String containerPath, boolean readOnly) {
    this.hostPath = hostPath;
    this.containerPath = containerPath;
    this.readOnly = readOnly;
  }

  /**
   * The host directory {@code hostPath} at {@code containerPath}, read-only.
   *
   * @param hostPath an existing directory (made absolute; symbolic links to it are resolved)
   * @param containerPath an absolute path in the container, not {@code /}, nor under
   *     {@code /proc}, {@code /sys} or {@code /dev}; made when missing
   * @return a read-only mount
   * @throws IllegalArgumentException when {@code hostPath} is not an existing directory or
   *     {@code containerPath} is not such a path
   */
  public static Mount readOnly(Path hostPath, String containerPath) {
    return new Mount(checkHostDir(hostPath), checkContainerPath(containerPath), true);
  }

  /**
   * The host directory {@code hostPath} at {@code containerPath}, writable from the container.
   * See {@link #readOnly(Path, String)} for the arguments.
   *
   * @param hostPath an existing directory (made absolute; symbolic links to it are resolved)
   * @param containerPath an absolute path in the container, as for {@link #readOnly(Path, String)}
   * @return a read-write mount
   */
  public static Mount readWrite(Path hostPath, String containerPath) {
    return new Mount(checkHostDir(hostPath), checkContainerPath(containerPath), false);
  }

  static Path checkHostDir(Path hostPath) {
    Objects.requireNonNull(hostPath, "hostPath");
    Path abs = hostPath.toAbsolutePath().normalize();
    if (!Files.exists(abs)) {
      throw new IllegalArgumentException("host path of a mount does not exist: " + abs
          + " (create the directory first)");
    }
    if (!Files.isDirectory(abs)) {
      throw new IllegalArgumentException("host path of a mount is not a directory: " + abs
          + " (mounts share directories; copy single files in with copyToContainer)");
    }
    try {
      return abs.toRealPath();
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("host path of a mount cannot be resolved: " + abs + ": " + e, e);
    }
  }

  static String checkContainerPath(String containerPath) {
    Objects.requireNonNull(containerPath, "containerPath");
    if (!containerPath.startsWith("/")) {
      throw new IllegalArgumentException("containerPath of a mount is not absolute: " + containerPath);
    }
    if (containerPath.indexOf('\0') >= 0 || containerPath.indexOf(',') >= 0
        || containerPath.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("containerPath of a mount contains NUL, ',' or a newline: "
          + containerPath);
    }
    for (String part : containerPath.split("/")) {
      if (part.equals("..") || part.equals(".")) {
        throw new IllegalArgumentException("containerPath of a mount has a '" + part + "' component: "
            + containerPath);
      }
    }
    String p = containerPath.replaceAll("/+", "/");
    if (p.length() > 1 && p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    if (p.equals("/")) {
      throw new IllegalArgumentException("containerPath of a mount cannot be / (the container's root): "
          + "mount the directory below it, e.g. /data");
    }
    for (String reserved : new String[] {"/proc", "/sys", "/dev"}) {
      if (p.equals(reserved) || p.startsWith(reserved + "/")) {
        throw new IllegalArgumentException("containerPath of a mount cannot be under " + reserved
            + " (the runtime mounts it): " + containerPath);
      }
    }
    return p;
  }

  /**
   * The host directory, absolute and with symbolic links resolved.
   *
   * @return the absolute, real path of the host directory
   */
  public Path hostPath() {
    return hostPath;
  }

  /**
   * Where it appears in the container (absolute, normalized).
   *
   * @return the absolute, normalized path in the container
   */
  public String containerPath() {
    return containerPath;
  }

  /**
   * Whether the container cannot write to it.
   *
   * @return {@code true} for a read-only mount, {@code false} for a read-write one
   */
  public boolean readOnly() {
    return readOnly;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Mount m && hostPath.equals(m.hostPath) && containerPath.equals(m.containerPath)
        && readOnly == m.readOnly;
  }

  @Override
  public int hashCode() {
    return Objects.hash(hostPath, containerPath, readOnly);
  }

  /** {@code /host/dir:/container/path:ro} (or {@code :rw}), as {@code docker run -v} writes it. */
  @Override
  public String toString() {
    return hostPath + ":" + containerPath + (readOnly ? ":ro" : ":rw");
  }
}
