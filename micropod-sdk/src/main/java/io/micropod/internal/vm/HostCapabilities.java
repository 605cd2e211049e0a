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
    Path netguard) {

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
        runningAsRoot, ociRuntime, null, null);
  }

  /** Capabilities with the guest image's default OCI runtime. */
  public HostCapabilities(Path qemuBinary, Path virtiofsd, List<String> virtiofsdWrapper, Path kernel,
      Path initramfs, Accel accel, String accelReason, Machine machine, long tscKhz, boolean runningAsRoot) {
    this(qemuBinary, virtiofsd, virtiofsdWrapper, kernel, initramfs, accel, accelReason, machine, tscKhz,
        runningAsRoot, "", null, null);
  }
}
