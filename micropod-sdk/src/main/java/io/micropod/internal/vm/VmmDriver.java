package io.micropod.internal.vm;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Launches VMs. Internal and SPI-shaped: a future {@code io.micropod.spi.VmmDriver} (Firecracker,
 * Cloud Hypervisor) will look like this once it has settled.
 */
public interface VmmDriver {
  /** The driver's name, e.g. {@code qemu}. */
  String name();

  /**
   * Makes {@code tree} (the unpacked image, read-only) available to the VM about to be spawned
   * with {@code config}; for QEMU, starts virtiofsd on {@code config.virtiofsSocket()}.
   *
   * @throws io.micropod.VmStartException when the helper does not start, with its output
   */
  RootfsShare shareRootfs(VmConfig config, Path tree, Instant deadline) throws InterruptedException;

  /**
   * Launches the VM with the rootfs that {@link #shareRootfs} made ready (its virtio-fs socket, or
   * its block image) and returns once its agent channel can be connected to.
   *
   * @throws io.micropod.VmStartException when the VMM does not start or dies, with its output
   */
  VmProcess spawn(VmConfig config, RootfsShare rootfs, Instant deadline)
      throws IOException, InterruptedException;

  /**
   * Null when this driver can share host directories with the VM ({@link io.micropod.Mount});
   * else why not and what to do instead, for the user.
   */
  default String mountsUnsupported() {
    return "the " + name() + " driver cannot share host directories with the VM";
  }

  /**
   * Null when pods of this driver can be snapshotted and restored through the public snapshot path
   * ({@link io.micropod.MicroPodSpec.Builder#snapshottable}, {@link io.micropod.MicroPod#snapshot},
   * {@code fromSnapshot}); else why not and what to do instead, for the user. Checked before
   * anything of such a pod starts.
   */
  default String snapshotsUnsupported() {
    return "the " + name() + " driver cannot snapshot or restore pods";
  }

  /**
   * Whether this driver restores a snapshot by spawning its VMM from the snapshot's files in one
   * call ({@link #restore}: Firecracker, which maps the memory file itself and loads the state
   * before its API answers anything else), instead of the pod's steps copying the RAM into the
   * pod's RAM file, {@link #spawn} waiting for the device state and {@link VmProcess#restore}
   * (QEMU).
   */
  default boolean restoresBySpawning() {
    return false;
  }

  /**
   * Spawns a VM from snapshot files, running, its agent channel at {@code config.agentSocket()}
   * (only when {@link #restoresBySpawning()}).
   *
   * @param stateFile the VMM's device state ({@code <snapshot>/state})
   * @param memFile the guest memory ({@code <snapshot>/ram}), read, never written
   * @throws io.micropod.VmStartException when the VMM does not start or refuses the snapshot; its
   *     step id is {@code vmm.spawn} when the VMM did not start at all
   */
  default VmProcess restore(VmConfig config, Path stateFile, Path memFile, Instant deadline)
      throws IOException, InterruptedException {
    throw new UnsupportedOperationException("the " + name() + " driver restores through spawn and VmProcess.restore");
  }

  /**
   * Starts what shares {@code mount} with the VM about to be spawned, as the device
   * {@code device} (which the caller adds to the VM's config). Only called when
   * {@link #mountsUnsupported()} is null.
   *
   * @throws io.micropod.VmStartException when the helper does not start, with its output
   */
  default RootfsShare shareMount(VmConfig config, io.micropod.Mount mount, VmConfig.MountDevice device,
      Path log, Instant deadline) throws InterruptedException {
    throw new UnsupportedOperationException(mountsUnsupported());
  }
}
