package io.micropod.internal.vm.firecracker;

import io.micropod.internal.files.FileTrees;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chroot of one jailed Firecracker, as MicroPod lays it out before the jailer runs
 * ({@code docs/jailer.md}: "the user must create hard links for (or copy) any resources which
 * will be provided to the VM via the API ... inside the jailed root folder"):
 *
 * <pre>
 * &lt;chroot base&gt;/&lt;exec file name&gt;/&lt;id&gt;/root/   0700; the jailer chowns it to uid:gid
 *   vmlinux, initramfs.cpio, rootfs.ext4   hard links (copies 0444 across file systems), read-only
 *   system.img                             likewise, when the guest image has one
 *   run/                                   0700 uid:gid: Firecracker binds run/firecracker.socket
 *   firecracker.log, firecracker-metrics.json   0600 uid:gid
 *   vsock.sock                             bound by Firecracker (hybrid vsock)
 * </pre>
 *
 * The jailer itself copies the exec file in and makes {@code dev/kvm} and {@code dev/net/tun}.
 * <b>Never met a real jailer</b> (no KVM where MicroPod is built): tested against that contract.
 */
public final class Jail {
  private static final Logger log = LoggerFactory.getLogger(Jail.class);

  /** Firecracker's default API socket, as the jailed process sees it. */
  public static final Path API_SOCKET = Path.of("/run/firecracker.socket");
  public static final Path KERNEL = Path.of("/vmlinux");
  public static final Path INITRAMFS = Path.of("/initramfs.cpio");
  public static final Path ROOTFS = Path.of("/rootfs.ext4");
  public static final Path SYSTEM_IMAGE = Path.of("/system.img");
  public static final Path VSOCK = Path.of("/vsock.sock");
  public static final Path LOG = Path.of("/firecracker.log");
  public static final Path METRICS = Path.of("/firecracker-metrics.json");

  private final JailerCommand command;

  private Jail(JailerCommand command) {
    this.command = command;
  }

  public JailerCommand command() {
    return command;
  }

  /** Where {@code insideJail} is on the host. */
  public Path hostPath(Path insideJail) {
    return command.hostPath(insideJail);
  }

  /** {@code <chroot base>/<exec file name>/<id>}: everything of this jail. */
  public Path instanceDir() {
    return command.chrootRoot().getParent();
  }

  /**
   * Lays out the chroot of {@code command} with the VM's files.
   *
   * @throws FileAlreadyExistsException when the jail of that id exists (ids are unique per pod)
   */
  public static Jail prepare(JailerCommand command, Path kernel, Path initramfs, Path rootfs) throws IOException {
    return prepare(command, kernel, initramfs, rootfs, null);
  }

  /** Like {@link #prepare(JailerCommand, Path, Path, Path)}, with the guest's system image (null: none). */
  public static Jail prepare(JailerCommand command, Path kernel, Path initramfs, Path rootfs, Path systemImage)
      throws IOException {
    Jail jail = new Jail(command);
    Path root = command.chrootRoot();
    Path base = command.chrootBaseDir();
    Files.createDirectories(base, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.createDirectories(root.getParent().getParent());
    Files.createDirectory(root.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    boolean ok = false;
    try {
      Files.createDirectory(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      place(kernel, jail.hostPath(KERNEL));
      place(initramfs, jail.hostPath(INITRAMFS));
      place(rootfs, jail.hostPath(ROOTFS));
      if (systemImage != null) {
        place(systemImage, jail.hostPath(SYSTEM_IMAGE));
      }
      Path run = Files.createDirectory(jail.hostPath(Path.of("/run")),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      own(run, command);
      for (Path f : new Path[] {LOG, METRICS}) {
        own(Files.createFile(jail.hostPath(f),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))), command);
      }
      ok = true;
      return jail;
    } finally {
      if (!ok) {
        jail.delete();
      }
    }
  }

  /** A hard link of {@code source} (read-only for the jailed uid), or a 0444 copy across file systems. */
  private static void place(Path source, Path target) throws IOException {
    try {
      Files.createLink(target, source);
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("cannot hard-link {} into the jail ({}): copying it", source, e.toString());
      Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("r--r--r--"));
    }
  }

  private static void own(Path p, JailerCommand c) throws IOException {
    Files.setAttribute(p, "unix:uid", c.uid(), LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", c.gid(), LinkOption.NOFOLLOW_LINKS);
  }

  /** Removes the jail (after Firecracker exited); the hard links go, their sources stay. */
  public void delete() {
    try {
      FileTrees.deleteTree(instanceDir());
    } catch (IOException | RuntimeException e) {
      log.warn("cannot remove the jail {}: {}", instanceDir(), e.toString());
    }
  }
}
