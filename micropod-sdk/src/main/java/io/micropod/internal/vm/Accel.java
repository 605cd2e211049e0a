package io.micropod.internal.vm;

/** QEMU accelerators. */
public enum Accel {
  /** Hardware virtualisation; needs a usable /dev/kvm. */
  KVM,
  /** Software emulation: works everywhere, seconds per boot. */
  TCG;

  public String qemuName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
