package io.micropod.internal.image;

import io.micropod.ImageRef;
import java.util.List;

/** An image reference resolved to one manifest: its digest, config and layers (bottom first). */
public record ResolvedImage(
    ImageRef ref, String manifestDigest, ImageConfig config, List<Layer> layers) {

  public ResolvedImage {
    layers = List.copyOf(layers);
  }

  /** The hex part of the manifest digest: the key of the unpacked tree in the store. */
  public String manifestHex() {
    return manifestDigest.substring(manifestDigest.indexOf(':') + 1);
  }
}
