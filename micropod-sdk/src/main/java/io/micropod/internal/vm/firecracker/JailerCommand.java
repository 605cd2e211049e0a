package io.micropod.internal.vm.firecracker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The command line of Firecracker's {@code jailer}, which chroots, drops to {@code uid}/{@code gid}
 * and execs Firecracker inside {@code <chrootBaseDir>/<exec file name>/<id>/root}:
 * {@code jailer --id <id> --exec-file <firecracker> --uid <uid> --gid <gid> --chroot-base-dir <dir>
 * -- <firecracker args>}. Paths Firecracker sees (API socket, kernel, drives, vsock) are then
 * inside the jail; {@link #hostPath} maps them back.
 *
 * <p>Command building only: the driver does not spawn through the jailer yet (it would also need
 * to hard-link the kernel, initramfs and image into the jail), and this has never run against a
 * real jailer. Immutable.
 *
 * @param chrootBaseDir jailer's default is {@code /srv/jailer}
 */
public record JailerCommand(Path jailer, String id, Path firecracker, int uid, int gid, Path chrootBaseDir) {
  /** Jailer ids: alphanumeric and {@code -}, 1 to 64 characters. */
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9-]{1,64}");

  public JailerCommand {
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("jailer id must be 1-64 characters of [A-Za-z0-9-]: " + id);
    }
    if (uid < 0 || gid < 0) {
      throw new IllegalArgumentException("uid and gid must be >= 0: " + uid + ", " + gid);
    }
    if (!chrootBaseDir.isAbsolute() || !firecracker.isAbsolute()) {
      throw new IllegalArgumentException("chrootBaseDir and firecracker must be absolute: " + chrootBaseDir
          + ", " + firecracker);
    }
  }

  /** The jail's root on the host. */
  public Path chrootRoot() {
    return chrootBaseDir.resolve(firecracker.getFileName()).resolve(id).resolve("root");
  }

  /** Where a path inside the jail ({@code /run/firecracker.socket}) is on the host. */
  public Path hostPath(Path insideJail) {
    Path rel = insideJail.isAbsolute() ? insideJail.getRoot().relativize(insideJail) : insideJail;
    return chrootRoot().resolve(rel);
  }

  /** The full command: the jailer's arguments, {@code --}, then Firecracker's ({@code apiSockInJail} etc.). */
  public List<String> command(List<String> firecrackerArgs) {
    List<String> cmd = new ArrayList<>(List.of(jailer.toString(), "--id", id, "--exec-file", firecracker.toString(),
        "--uid", Integer.toString(uid), "--gid", Integer.toString(gid), "--chroot-base-dir", chrootBaseDir.toString()));
    if (!firecrackerArgs.isEmpty()) {
      cmd.add("--");
      cmd.addAll(firecrackerArgs);
    }
    return cmd;
  }
}
