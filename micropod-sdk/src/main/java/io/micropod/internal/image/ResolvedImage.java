package io.micropod.internal.image;

import io.micropod.ImageRef;
import java.util.List;

/**
 * An image reference resolved to one manifest: its digest, config and layers (bottom first),
 * and the config's {@code created} time (ISO-8601, empty when unknown).
 */
public record ResolvedImage(
    ImageRef ref, String manifestDigest, ImageConfig config, List<Layer> layers, String created) {

  public ResolvedImage {
    layers = List.copyOf(layers);
    created = created == null ? "" : created;
  }

  public ResolvedImage(ImageRef ref, String manifestDigest, ImageConfig config, List<Layer> layers) {
    this(ref, manifestDigest, config, layers, "");
  }

  /** The hex part of the manifest digest: the key of the unpacked tree in the store. */
  public String manifestHex() {
    return manifestDigest.substring(manifestDigest.indexOf(':') + 1);
  }
}
