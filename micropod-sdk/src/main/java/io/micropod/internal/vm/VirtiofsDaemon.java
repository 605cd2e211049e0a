package io.micropod.internal.vm;

import io.micropod.VmStartException;
import io.micropod.event.Phase;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's (C) virtiofsd sharing one image tree with one VM over a vhost-user socket. Started
 * before QEMU; it exits by itself when QEMU disconnects. Run as root, or under
 * {@code unshare --map-root-user} otherwise.
 */
public final class VirtiofsDaemon {
  public static final String STEP = "virtiofs.start";

  private final ManagedProcess process;

  private VirtiofsDaemon(ManagedProcess process) {
    this.process = process;
  }

  /**
   * The command line: the host's wrapper (if any), the fsguard seccomp wrapper (when the guest
   * image has it: it keeps the guest from creating device nodes, FIFOs, setuid/setgid files,
   * xattrs or files of other owners on the host), then virtiofsd with the contract's options.
   */
  public static List<String> command(HostCapabilities host, Path socket, Path sharedDir) {
    List<String> c = new ArrayList<>(host.virtiofsdWrapper());
    if (host.fsguard() != null) {
      c.add(host.fsguard().toString());
    }
    c.add(host.virtiofsd().toString());
    c.add("--socket-path=" + socket);
    c.add("-o");
    c.add("source=" + sharedDir);
    c.add("-o");
    c.add("cache=none");
    c.add("-o");
    c.add("sandbox=chroot");
    // No xattrs (the default, said explicitly): security.capability would be file capabilities.
    c.add("-o");
    c.add("no_xattr");
    return c;
  }

  /**
   * The script that makes {@code $1} a read-only bind mount of itself in virtiofsd's private
   * mount namespace, then execs the rest of its arguments: virtiofsd then serves a tree the host
   * kernel refuses to write to, whatever the guest does. {@code nosuid,nodev} are added (a user
   * namespace may only tighten the flags it inherited; {@code noexec} too where the source had it).
   * Not recursive: file systems mounted under the directory are not shared.
   */
  static final String READ_ONLY_BIND =
      "mount --bind \"$1\" \"$1\" && { mount -o remount,bind,ro,nosuid,nodev \"$1\" 2>/dev/null"
          + " || mount -o remount,bind,ro,nosuid,nodev,noexec \"$1\"; } && shift && exec \"$@\"";

  /**
   * The command line of a host directory mount: like {@link #command}, and when {@code readOnly}
   * in a mount namespace of its own where {@code sharedDir} is a read-only bind mount (as root:
   * {@code unshare --mount}; otherwise the wrapper's namespace).
   */
  public static List<String> mountCommand(HostCapabilities host, Path socket, Path sharedDir, boolean readOnly) {
    if (!readOnly) {
      return command(host, socket, sharedDir);
    }
    List<String> c = new ArrayList<>();
    if (host.virtiofsdWrapper().isEmpty()) {
      c.addAll(List.of("unshare", "--mount", "--propagation", "private"));
    } else {
      c.addAll(host.virtiofsdWrapper());
    }
    c.addAll(List.of("sh", "-c", READ_ONLY_BIND, "micropod-ro-bind", sharedDir.toString()));
    List<String> plain = command(host, socket, sharedDir);
    c.addAll(plain.subList(host.virtiofsdWrapper().size(), plain.size()));
    return c;
  }

  /**
   * Starts virtiofsd and waits for its socket.
   *
   * @throws VmStartException when it cannot start, dies, or does not create its socket in time
   */
  public static VirtiofsDaemon start(String podId, HostCapabilities host, Path socket, Path sharedDir,
      Path logFile, Instant deadline) throws InterruptedException {
    return start(podId, host, socket, sharedDir, logFile, deadline, false);
  }

  /**
   * Like the other {@code start}; {@code detached}: see {@link ManagedProcess#start(String, String, List, Path, boolean)}.
   * The tree is served read-only ({@link #mountCommand} with {@code readOnly}): it is the image
   * tree shared by every pod of that image, so the host kernel, not the guest's {@code mount -o
   * ro}, must refuse writes to it.
   */
  public static VirtiofsDaemon start(String podId, HostCapabilities host, Path socket, Path sharedDir,
      Path logFile, Instant deadline, boolean detached) throws InterruptedException {
    return start(podId, mountCommand(host, socket, sharedDir, true), socket, sharedDir, logFile, deadline,
        detached);
  }

  /** Starts {@code cmd} (see {@link #mountCommand}) and waits for {@code socket}. */
  public static VirtiofsDaemon start(String podId, List<String> cmd, Path socket, Path sharedDir,
      Path logFile, Instant deadline, boolean detached) throws InterruptedException {
    ManagedProcess p;
    try {
      p = ManagedProcess.start(podId, "virtiofsd", cmd, logFile, detached);
    } catch (IOException e) {
      throw new VmStartException("cannot start virtiofsd (" + cmd.get(0) + "): " + e.getMessage(), e,
          podId, Phase.ROOTFS_PREPARE, STEP, "");
    }
    ManagedProcess.Await seen;
    try {
      seen = p.awaitFile(socket, deadline);
    } catch (InterruptedException e) {
      p.stop(Duration.ZERO);
      throw e;
    }
    if (seen != ManagedProcess.Await.APPEARED) {
      String tail = FileTail.tails(40, String.valueOf(logFile.getFileName()), logFile);
      p.stop(Duration.ZERO);
      String what = seen == ManagedProcess.Await.DIED
          ? "virtiofsd exited with code " + p.exitCode().orElse(-1) + " before it created " + socket
          : "virtiofsd did not create " + socket + " in time";
      throw new VmStartException(what + " (sharing " + sharedDir + "); see " + logFile, null, podId,
          Phase.ROOTFS_PREPARE, STEP, tail);
    }
    return new VirtiofsDaemon(p);
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Stops virtiofsd: it normally exited with QEMU already; waits up to 1 s, then terminates it. */
  public void stop() {
    process.stop(Duration.ofSeconds(1));
  }

  public void kill() {
    process.kill();
  }

  public long pid() {
    return process.pid();
  }
}
