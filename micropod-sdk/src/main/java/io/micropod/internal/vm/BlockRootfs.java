package io.micropod.internal.vm;

import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.image.BlockImages;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The rootfs as a read-only block image: nothing runs beside the VM, so stop and kill do
 * nothing; the image stays in the store for the next pod of the same image.
 */
public final class BlockRootfs implements RootfsShare {
  /** The step id in errors while the image is built. */
  public static final String STEP = "rootfs.block";

  private final Path image;

  BlockRootfs(Path image) {
    this.image = image;
  }

  /**
   * Returns the block image of {@code tree}, building it when needed.
   *
   * @throws VmStartException when it cannot be built
   */
  public static BlockRootfs prepare(BlockImages images, String podId, Path tree) throws InterruptedException {
    try {
      return new BlockRootfs(images.prepare(tree));
    } catch (IOException e) {
      throw new VmStartException("cannot build the block image of " + tree + ": " + e.getMessage(), e,
          podId, Phase.ROOTFS_PREPARE, STEP, "");
    }
  }

  @Override
  public Path blockImage() {
    return image;
  }

  @Override
  public void stop() {}

  @Override
  public void kill() {}
}
