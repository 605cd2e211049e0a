package io.micropod.internal.vm;

/** Whatever delivers the image tree to one VM (virtiofsd for QEMU; a block image later). */
public interface RootfsShare {
  /**
   * The read-only block image to attach as the guest's {@code /dev/vda} ({@code micropod.rootfs=blk});
   * null when the tree is shared with virtio-fs.
   */
  default java.nio.file.Path blockImage() {
    return null;
  }


  /** Stops it, normally after the VM exited. */
  void stop();

  /** Kills it at once (JVM shutdown). */
  void kill();

  /** The host process behind it, for the pod record; -1 when there is none. */
  default long pid() {
    return -1;
  }
}
