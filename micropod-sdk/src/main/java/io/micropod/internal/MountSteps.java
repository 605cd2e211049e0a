package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.Mount;
import io.micropod.event.Phase;
import io.micropod.internal.agent.ContainerLaunch;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.QemuCommandLine;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Host directory mounts ({@link Mount}): checked before the boot, one virtio-fs device and helper
 * per mount during it (step {@code mounts.share}), and their part of CreateContainer.
 */
final class MountSteps {
  private MountSteps() {}

  /**
   * Before anything starts: the driver can share directories, and each host directory still is
   * one.
   *
   * @throws MicroPodException saying what is wrong and what to do
   */
  static void check(MicroPodSpec spec, RuntimeServices runtime, String podId) {
    if (spec.mounts().isEmpty()) {
      return;
    }
    String unsupported = runtime.driver().mountsUnsupported();
    if (unsupported != null) {
      throw new MicroPodException(unsupported + " (mounts " + spec.mounts() + ")", null, podId,
          Phase.ROOTFS_PREPARE);
    }
    for (Mount m : spec.mounts()) {
      if (!Files.isDirectory(m.hostPath(), LinkOption.NOFOLLOW_LINKS)) {
        throw new MicroPodException("the host directory of mount " + m + (Files.exists(m.hostPath())
            ? " is no longer a directory" : " no longer exists") + ": create it again, or drop the mount",
            null, podId, Phase.ROOTFS_PREPARE);
      }
    }
  }

  /**
   * Step {@code mounts.share}: a helper per mount, each stopped by the clean-up, then records them;
   * its result ({@link SharedMounts}) gives {@code vmm.spawn} the devices.
   */
  static void share(Boot b, CleanupStack cleanup) throws InterruptedException {
    List<Mount> mounts = b.spec.mounts();
    if (mounts.isEmpty()) {
      b.mounts.set(SharedMounts.NONE);
      return;
    }
    VmConfig config = b.baseVmConfig();
    List<VmConfig.MountDevice> devices = new ArrayList<>();
    List<PodRecord.Proc> procs = new ArrayList<>();
    List<RootfsShare> shares = new ArrayList<>();
    for (int i = 0; i < mounts.size(); i++) {
      Mount m = mounts.get(i);
      VmConfig.MountDevice device = new VmConfig.MountDevice(QemuCommandLine.mountTag(i),
          b.paths.socketDir().resolve("mount" + i + ".sock"));
      RootfsShare share = b.runtime.driver().shareMount(config, m, device,
          b.paths.podDir().resolve("virtiofsd-mount" + i + ".log"), Instant.now().plus(RealMicroPod.SOCKET_TIMEOUT));
      shares.add(share);
      PodResources.mountShare(i, share, cleanup);
      devices.add(device);
      procs.add(PodRecord.Proc.of(share.pid()));
    }
    b.mounts.set(new SharedMounts(shares, devices));
    List<String> described = mounts.stream().map(Mount::toString).toList();
    b.updateRecord(r -> r.withMounts(described, procs));
  }

  /** The mounts of CreateContainer, in the spec's order (tags as {@link #share} gave them). */
  static List<ContainerLaunch.Mount> requests(MicroPodSpec spec) {
    List<ContainerLaunch.Mount> out = new ArrayList<>();
    for (int i = 0; i < spec.mounts().size(); i++) {
      Mount m = spec.mounts().get(i);
      out.add(new ContainerLaunch.Mount(QemuCommandLine.mountTag(i), m.containerPath(), m.readOnly()));
    }
    return out;
  }
}
