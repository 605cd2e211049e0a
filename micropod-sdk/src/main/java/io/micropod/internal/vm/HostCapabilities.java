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
    boolean runningAsRoot) {

  public HostCapabilities {
    virtiofsdWrapper = List.copyOf(virtiofsdWrapper);
  }
}
