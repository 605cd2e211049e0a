package io.micropod.internal;

import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.image.ResolvedImage;
import java.nio.file.Path;

/**
 * Step {@code rootfs.prepare}'s result: the unpacked image tree the VM shares and the container's
 * process plan (image config merged with the spec). An attached pod knows only the recorded user:
 * {@code image} and {@code rootfs} are null there.
 */
record PreparedImage(ResolvedImage image, Path rootfs, ProcessPlan plan) {
  /** What the record of a running pod tells about its image: the container's user. */
  static PreparedImage recorded(String user) {
    return new PreparedImage(null, null, new ProcessPlan(java.util.List.of("?"), java.util.List.of(), "",
        user == null ? "" : user));
  }
}
