package io.micropod;

import java.util.Objects;
import java.util.Optional;

/**
 * One finding of {@link MicroPodRuntime#checkHost()}: a thing MicroPod needs or uses on this host
 * (the accelerator, the VMM, virtiofsd, the guest image, ...), whether it is there, and how to
 * fix it when it is not. Immutable.
 */
public final class HostCheck {
  /** How a check came out. */
  public enum Status {
    /** Present and usable. */
    OK,
    /**
     * Usable but degraded, or missing for some pods only: e.g. TCG instead of KVM (slow), no
     * Firecracker, a guest image without the host helper that read-write mounts need.
     */
    WARN,
    /** Missing: no pod can start until it is fixed. */
    MISSING
  }

  private final String name;
  private final Status status;
  private final String detail;
  private final String fix;

  private HostCheck(String name, Status status, String detail, String fix) {
    this.name = requireText(name, "name");
    this.status = Objects.requireNonNull(status, "status");
    this.detail = requireText(detail, "detail");
    if (status != Status.OK) {
      this.fix = requireText(fix, "fix");
    } else {
      this.fix = null;
    }
  }

  /**
   * A check that passed; {@code detail} says what was found (a path, a version).
   *
   * @param name what was checked, e.g. {@code qemu}; not blank
   * @param detail what was found; not blank
   * @return a check with status {@link Status#OK}
   */
  public static HostCheck ok(String name, String detail) {
    return new HostCheck(name, Status.OK, detail, null);
  }

  /**
   * A degraded check; {@code fix} says what to run or change (a command where there is one).
   *
   * @param name what was checked, e.g. {@code accelerator}; not blank
   * @param detail what was found and why it is degraded; not blank
   * @param fix what to run or change; not blank
   * @return a check with status {@link Status#WARN}
   */
  public static HostCheck warn(String name, String detail, String fix) {
    return new HostCheck(name, Status.WARN, detail, fix);
  }

  /**
   * A check that keeps every pod from starting; {@code fix} says what to run or change.
   *
   * @param name what was checked, e.g. {@code guest image}; not blank
   * @param detail what is missing and where it was looked for; not blank
   * @param fix what to run or change; not blank
   * @return a check with status {@link Status#MISSING}
   */
  public static HostCheck missing(String name, String detail, String fix) {
    return new HostCheck(name, Status.MISSING, detail, fix);
  }

  /**
   * What was checked, short and stable: {@code accelerator}, {@code qemu}, {@code guest image}, ...
   *
   * @return the check's name
   */
  public String name() {
    return name;
  }

  /** {@return how the check came out} */
  public Status status() {
    return status;
  }

  /**
   * What was found, or what is missing and where it was looked for; one line.
   *
   * @return the finding, one line, never blank
   */
  public String detail() {
    return detail;
  }

  /**
   * How to fix it (e.g. {@code apt-get install qemu-system-x86}); empty for {@link Status#OK},
   * present otherwise.
   *
   * @return the fix, or empty for a check that passed
   */
  public Optional<String> fix() {
    return Optional.ofNullable(fix);
  }

  private static String requireText(String s, String what) {
    Objects.requireNonNull(s, what);
    if (s.isBlank()) {
      throw new IllegalArgumentException(what + " is blank");
    }
    return s;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HostCheck && name.equals(((HostCheck) o).name) && status == ((HostCheck) o).status
        && detail.equals(((HostCheck) o).detail) && Objects.equals(fix, ((HostCheck) o).fix);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, status, detail, fix);
  }

  @Override
  public String toString() {
    return status + " " + name + ": " + detail + (fix == null ? "" : " (fix: " + fix + ")");
  }
}
