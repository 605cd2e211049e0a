package io.micropod.event;

/**
 * The phases of a pod's life that a {@link MicroPodListener} hears about, in the order a
 * successful {@code start()} goes through them; {@link #STOP} is reported by {@code close()}.
 *
 * <p>Internal boot steps map onto phases, so that step names never become API. A phase may
 * span several steps; it is reported once, from the start of its first step to the end of its
 * last one.
 */
public enum Phase {
  /** Resolving the image reference to a manifest and its layers (a pull, once registries land). */
  IMAGE_PULL,
  /** Unpacking layers into the content-addressed store and sharing the tree with the VM. */
  ROOTFS_PREPARE,
  /** Launching the VMM with the guest kernel and initramfs. */
  VM_BOOT,
  /** Waiting for the guest agent to answer over its channel. */
  AGENT_CONNECT,
  /** Creating and starting the container inside the VM. */
  CONTAINER_START,
  /** Tearing the pod down ({@code close()}). */
  STOP,
  /** Taking a snapshot of a running pod ({@code MicroPod.snapshot}): the guest is paused meanwhile. */
  SNAPSHOT,
  /** Loading a snapshot into a new VM ({@code MicroPodSpec.Builder.fromSnapshot}), instead of booting one. */
  RESTORE
}
