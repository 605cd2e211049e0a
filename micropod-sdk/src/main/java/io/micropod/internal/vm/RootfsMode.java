package io.micropod.internal.vm;

import java.util.Locale;

/**
 * How the image tree reaches the guest ({@code micropod.rootfs=} of the guest contract).
 * QEMU defaults to {@link #VIRTIOFS}; {@code MICROPOD_ROOTFS=blk} switches it to {@link #BLOCK}.
 * Firecracker has only {@link #BLOCK}.
 */
public enum RootfsMode {
  /** virtiofsd shares the unpacked tree ({@code micropod.rootfs=virtiofs}). */
  VIRTIOFS("virtiofs"),
  /** A read-only ext4 image of the tree on a virtio-blk device ({@code micropod.rootfs=blk}). */
  BLOCK("blk");

  private final String cmdlineValue;

  RootfsMode(String cmdlineValue) {
    this.cmdlineValue = cmdlineValue;
  }

  public String cmdlineValue() {
    return cmdlineValue;
  }

  /** Parses {@code virtiofs}, {@code blk} (or {@code block}), ignoring case; null otherwise. */
  public static RootfsMode parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "virtiofs" -> VIRTIOFS;
      case "blk", "block" -> BLOCK;
      default -> null;
    };
  }
}
