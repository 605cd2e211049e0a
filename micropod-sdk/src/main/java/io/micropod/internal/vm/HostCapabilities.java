package io.micropod.internal.vm;

import java.nio.file.Path;
import java.util.List;

/**
 * What this host offers to run pods, found once per runtime.
 *
 * @param virtiofsdWrapper command prefix for virtiofsd (empty as root, else
 *     {@code unshare --map-root-user})
 * @param accelReason why {@code accel} was chosen, for the log
 * @param tscKhz the host TSC frequency in kHz for {@code tsc_early_khz}, 0 when unknown
 * @param ociRuntime the guest's OCI runtime for {@code micropod.runtime=} ({@code runc} or
 *     {@code crun}, from {@code MICROPOD_OCI_RUNTIME}), or empty for the guest image's default
 * @param fsguard the guest image's {@code host/micropod-fsguard} (the seccomp wrapper of every
 *     virtiofsd), or null when that image has none
 * @param netguard the guest image's {@code host/libmicropod-netguard.so} (QEMU's LD_PRELOAD that
 *     keeps NAT pods off the host's own addresses), or null when that image has none
 * @param systemImage the guest image's {@code system.img} beside the initramfs (the JRE, the agent,
 *     the OCI runtimes: read-only, attached to every pod, served to all of them by the host's page
 *     cache), or null for an initramfs that holds all of it itself
 */
public record HostCapabilities(
    Path qemuBinary,
    Path virtiofsd,
    List<String> virtiofsdWrapper,
    Path kernel,
    Path initramfs,
    Accel accel,
    String accelReason,
    Machine machine,
    long tscKhz,
    boolean runningAsRoot,
    String ociRuntime,
    Path fsguard,
    Path netguard,
    Path systemImage) {

  /** The system image's file name beside the initramfs ({@code rootfs-builder}'s output). */
  public static final String SYSTEM_IMAGE = "system.img";

  /** Capabilities without a system image: the initramfs holds the JRE and the agent itself. */
  public HostCapabilities(Path qemuBinary, Path virtiofsd, List<String> virtiofsdWrapper, Path kernel,
      Path initramfs, Accel accel, String accelReason, Machine machine, long tscKhz, boolean runningAsRoot,
      String ociRuntime, Path fsguard, Path netguard) {
    this(qemuBinary, virtiofsd, virtiofsdWrapper, kernel, initramfs, accel, accelReason, machine, tscKhz,
        runningAsRoot, ociRuntime, fsguard, netguard, null);
  }

  /**
   * The system image beside {@code initramfs} ({@value #SYSTEM_IMAGE}), or null when there is none:
   * a guest image built by {@code rootfs-builder} has one; an initramfs of one's own may hold
   * everything itself.
   */
  public static Path systemImageBeside(Path initramfs) {
    if (initramfs == null || initramfs.toAbsolutePath().getParent() == null) {
      return null;
    }
    Path p = initramfs.toAbsolutePath().getParent().resolve(SYSTEM_IMAGE);
    return java.nio.file.Files.isRegularFile(p) ? p : null;
  }

  /** The OCI runtimes the guest image ships ({@code MICROPOD_OCI_RUNTIME}). */
  public static final List<String> OCI_RUNTIMES = List.of("crun", "runc");

  public HostCapabilities {
    virtiofsdWrapper = List.copyOf(virtiofsdWrapper);
    ociRuntime = ociRuntime == null ? "" : ociRuntime;
  }

  /**
   * Capabilities without the host helpers: read-write mounts and NAT pods under QEMU then refuse
   * to start.
   */
  public HostCapabilities(Path qemuBinary, Path virtiofsd, List<String> virtiofsdWrapper, Path kernel,
      Path initramfs, Accel accel, String accelReason, Machine machine, long tscKhz, boolean runningAsRoot,
      String ociRuntime) {
    this(qemuBinary, virtiofsd, virtiofsdWrapper, kernel, initramfs, accel, accelReason, machine, tscKhz,
        runningAsRoot, ociRuntime, null, null, null);
  }

  /** Capabilities with the guest image's default OCI runtime. */
  public HostCapabilities(Path qemuBinary, Path virtiofsd, List<String> virtiofsdWrapper, Path kernel,
      Path initramfs, Accel accel, String accelReason, Machine machine, long tscKhz, boolean runningAsRoot) {
    this(qemuBinary, virtiofsd, virtiofsdWrapper, kernel, initramfs, accel, accelReason, machine, tscKhz,
        runningAsRoot, "", null, null, null);
  }
}
