package io.micropod.internal;

import io.micropod.ImageException;
import io.micropod.ImageNotFoundException;
import io.micropod.ImageRef;
import io.micropod.RegistryAuthenticationException;
import io.micropod.event.Phase;
import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.image.ResolvedImage;
import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Path;

/**
 * The image steps: {@code image.resolve} (the {@link ResolvedImage}: manifest and config, pulled
 * when needed) and {@code rootfs.prepare} (the {@link PreparedImage}: unpacked tree and process
 * plan).
 */
final class ImageSteps {
  private ImageSteps() {}

  static void resolveImage(Boot b, CleanupStack cleanup)
      throws IOException, InterruptedException {
    ImageRef ref = b.spec.image();
    ResolvedImage image;
    try {
      image = b.runtime.images().resolve(ref, b.spec.platform(), b.spec.pullPolicy(),
          (done, total) -> Listeners.progress(b.spec.listener(), b.id, Phase.IMAGE_PULL, done, total),
          "micropod-" + b.id + "-pull-");
    } catch (ImageException e) {
      throw withPod(e, b.id, Phase.IMAGE_PULL);
    } catch (ClosedByInterruptException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageException(ref.toString(), "cannot resolve " + ref + ": " + e, e, b.id, Phase.IMAGE_PULL);
    }
    String arch = image.config().architecture();
    if (!arch.isEmpty() && !arch.equals("amd64")) {
      throw new ImageException(ref.toString(), "the image is built for " + arch
          + "; MicroPod runs linux/amd64 guests: use an amd64 image", null, b.id, Phase.IMAGE_PULL);
    }
    b.image.set(image);
  }

  static void prepareRootfs(Boot b, CleanupStack cleanup)
      throws InterruptedException, IOException {
    String ref = b.spec.image().toString();
    ResolvedImage image = b.image.get();
    try {
      cleanup.push("image.release", b.runtime.images().useTree(image.manifestHex()));
      Path rootfs = b.runtime.store().prepare(image);
      b.prepared.set(new PreparedImage(image, rootfs, ProcessPlan.merge(image.config(), b.spec, rootfs, ref)));
    } catch (ImageException e) {
      throw withPod(e, b.id, Phase.ROOTFS_PREPARE);
    } catch (ClosedByInterruptException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageException(ref, "cannot unpack " + ref + " into " + b.runtime.store().treeOf(image)
          + ": " + e, e, b.id, Phase.ROOTFS_PREPARE);
    }
  }

  private static ImageException withPod(ImageException e, String podId, Phase phase) {
    if (e.podId() != null) {
      return e;
    }
    if (e instanceof ImageNotFoundException) {
      return new ImageNotFoundException(e.ref(), e.getMessage(), e, podId, phase);
    }
    if (e instanceof RegistryAuthenticationException a) {
      return new RegistryAuthenticationException(e.ref(), a.registry(), e.getMessage(), e, podId, phase);
    }
    return new ImageException(e.ref(), e.getMessage(), e, podId, phase);
  }
}
