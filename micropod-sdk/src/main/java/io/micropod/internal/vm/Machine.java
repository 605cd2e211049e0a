package io.micropod.internal.vm;

import java.util.Locale;

/** QEMU machine types the driver supports. */
public enum Machine {
  /** {@code -machine microvm}: virtio-mmio devices, fastest boot. The default. */
  MICROVM,
  /** {@code -machine q35}: PCI devices; the fallback ({@code MICROPOD_QEMU_MACHINE=q35}). */
  Q35;

  public String qemuName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code microvm} or {@code q35}, ignoring case; null for anything else. */
  public static Machine parse(String s) {
    for (Machine m : values()) {
      if (m.qemuName().equalsIgnoreCase(s.trim())) {
        return m;
      }
    }
    return null;
  }
}
