package io.micropod.internal.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.micropod.ImageException;
import java.util.ArrayList;
import java.util.List;

/**
 * Picks the manifest for a platform out of an OCI image index or Docker manifest list, as
 * containerd does: {@code os} and {@code architecture} must match; a requested variant must
 * match; without one, an entry without variant wins, then {@code v8} for arm64, then the first.
 * Attestation manifests ({@code unknown/unknown}) never match.
 */
public final class Platforms {
  private Platforms() {}

  /**
   * @param platform {@code os/arch[/variant]}
   * @return the chosen descriptor
   * @throws ImageException listing the platforms the index has when none matches
   */
  public static JsonNode select(String ref, JsonNode index, String platform) {
    String[] want = platform.split("/");
    String os = want[0];
    String arch = want[1];
    String variant = want.length > 2 ? want[2] : null;
    JsonNode best = null;
    int bestScore = -1;
    List<String> available = new ArrayList<>();
    for (JsonNode m : index.path("manifests")) {
      JsonNode p = m.path("platform");
      String mOs = p.path("os").asText("");
      String mArch = p.path("architecture").asText("");
      String mVariant = p.path("variant").asText("");
      available.add(mOs + "/" + mArch + (mVariant.isEmpty() ? "" : "/" + mVariant));
      if (!mOs.equals(os) || !mArch.equals(arch)) {
        continue;
      }
      int score;
      if (variant != null) {
        if (!mVariant.equals(variant) && !(mVariant.isEmpty() && isDefaultVariant(arch, variant))) {
          continue;
        }
        score = mVariant.equals(variant) ? 3 : 2;
      } else {
        score = mVariant.isEmpty() ? 3 : isDefaultVariant(arch, mVariant) ? 2 : 1;
      }
      if (score > bestScore) {
        best = m;
        bestScore = score;
      }
    }
    if (best == null) {
      throw new ImageException(ref, "the image index of " + ref + " has no manifest for " + platform
          + "; it has: " + available + (platform.equals("linux/amd64") ? " (MicroPod's guests are linux/amd64)" : ""));
    }
    return best;
  }

  private static boolean isDefaultVariant(String arch, String variant) {
    return (arch.equals("arm64") && variant.equals("v8")) || (arch.equals("amd64") && variant.equals("v1"));
  }
}
