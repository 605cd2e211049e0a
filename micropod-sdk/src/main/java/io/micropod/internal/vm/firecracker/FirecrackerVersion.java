package io.micropod.internal.vm.firecracker;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Firecracker release ({@code GET /version}'s {@code firecracker_version}, or
 * {@code firecracker --version}'s {@code Firecracker v1.16.0}), and the releases that the API
 * fields MicroPod sends on a snapshot load first appeared in: Firecracker rejects unknown JSON
 * fields, so a field sent to an older release fails the whole call (400).
 */
public record FirecrackerVersion(int major, int minor, int patch) implements Comparable<FirecrackerVersion> {
  /** {@code vsock_override} in {@code PUT /snapshot/load}: refused (400) before 1.16.0. */
  public static final FirecrackerVersion VSOCK_OVERRIDE = new FirecrackerVersion(1, 16, 0);
  /**
   * {@code network_overrides} in {@code PUT /snapshot/load}: present in every release the
   * project's facts were checked against (1.13.0 to 1.16.1). Upstream's changelog places it a
   * little earlier; 1.13.0 is the oldest release checked, so older ones are refused clearly
   * rather than risking a 400.
   */
  public static final FirecrackerVersion NETWORK_OVERRIDES = new FirecrackerVersion(1, 13, 0);
  /**
   * From here Debian's 6.1 guest kernel binds Firecracker's VMGenID device (with
   * {@code CONFIG_VMGENID}), and so reseeds its RNG on every restore.
   */
  public static final FirecrackerVersion VMGENID_FOR_LINUX_6_1 = new FirecrackerVersion(1, 16, 0);

  private static final Pattern VERSION = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)");

  /** The first {@code X.Y.Z} in {@code text}. */
  public static FirecrackerVersion parse(String text) {
    Matcher m = VERSION.matcher(text == null ? "" : text);
    if (!m.find()) {
      throw new IllegalArgumentException("no Firecracker version (X.Y.Z) in: " + text);
    }
    return new FirecrackerVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
        Integer.parseInt(m.group(3)));
  }

  public boolean atLeast(FirecrackerVersion other) {
    return compareTo(other) >= 0;
  }

  @Override
  public int compareTo(FirecrackerVersion o) {
    int c = Integer.compare(major, o.major);
    if (c == 0) {
      c = Integer.compare(minor, o.minor);
    }
    return c != 0 ? c : Integer.compare(patch, o.patch);
  }

  @Override
  public String toString() {
    return major + "." + minor + "." + patch;
  }
}
