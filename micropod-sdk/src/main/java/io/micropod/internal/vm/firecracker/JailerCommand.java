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
 * <p>Built to the jailer's documented contract ({@code docs/jailer.md} of Firecracker 1.16: the
 * arguments, {@code <chroot_base>/<exec_file_name>/<id>/root}, the {@code --id} it passes on
 * itself, {@code /run/firecracker.socket} as the default API socket). <b>This has never met a
 * real jailer or KVM</b>: none can run on the machines that build MicroPod; the tests check the
 * argv and the chroot layout ({@link Jail}) against that contract. Immutable.
 *
 * @param chrootBaseDir jailer's default is {@code /srv/jailer}
 * @param cgroupVersion {@code --cgroup-version}: 1 or 2 (the host's hierarchy)
 */
public record JailerCommand(Path jailer, String id, Path firecracker, int uid, int gid, Path chrootBaseDir,
    int cgroupVersion) {
  /** Jailer ids: alphanumeric and {@code -}, 1 to 64 characters. */
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9-]{1,64}");

  public JailerCommand {
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("jailer id must be 1-64 characters of [A-Za-z0-9-]: " + id);
    }
    if (uid < 0 || gid < 0) {
      throw new IllegalArgumentException("uid and gid must be >= 0: " + uid + ", " + gid);
    }
    if (uid == 0 || gid == 0) {
      throw new IllegalArgumentException("the jailed Firecracker must not run as root: uid " + uid + ", gid " + gid);
    }
    if (cgroupVersion != 1 && cgroupVersion != 2) {
      throw new IllegalArgumentException("cgroupVersion must be 1 or 2: " + cgroupVersion);
    }
    if (!firecracker.getFileName().toString().contains("firecracker")) {
      // the jailer refuses any other exec file
      throw new IllegalArgumentException("the jailer's exec file name must contain \"firecracker\": " + firecracker);
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

  /**
   * The full command: the jailer's arguments, {@code --}, then Firecracker's ({@code --api-sock}
   * inside the jail etc.; never {@code --id}: the jailer passes it, a second one is an error).
   */
  public List<String> command(List<String> firecrackerArgs) {
    if (firecrackerArgs.contains("--id")) {
      throw new IllegalArgumentException("the jailer passes --id to Firecracker itself: " + firecrackerArgs);
    }
    List<String> cmd = new ArrayList<>(List.of(jailer.toString(), "--id", id, "--exec-file", firecracker.toString(),
        "--uid", Integer.toUnsignedString(uid), "--gid", Integer.toUnsignedString(gid),
        "--chroot-base-dir", chrootBaseDir.toString(), "--cgroup-version", Integer.toString(cgroupVersion)));
    if (!firecrackerArgs.isEmpty()) {
      cmd.add("--");
      cmd.addAll(firecrackerArgs);
    }
    return cmd;
  }
}
