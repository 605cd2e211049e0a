package io.micropod;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link MicroPodRuntime#checkHost()} found on this host: one {@link HostCheck} per thing
 * MicroPod needs or uses, in a stable order (accelerator, VMM, helpers, guest image, home,
 * networking, Firecracker). Immutable; a snapshot of the moment it was made.
 */
public final class HostReport {
  private final List<HostCheck> checks;

  private HostReport(List<HostCheck> checks) {
    this.checks = List.copyOf(checks);
  }

  /**
   * A report of {@code checks}, in that order.
   *
   * @param checks the checks, copied; not null and without null elements
   * @return an immutable report
   */
  public static HostReport of(List<HostCheck> checks) {
    return new HostReport(Objects.requireNonNull(checks, "checks"));
  }

  /**
   * Every check, in order.
   *
   * @return the checks, in the order they ran; an unmodifiable list
   */
  public List<HostCheck> checks() {
    return checks;
  }

  /**
   * The first check named {@code name}, if the report has one.
   *
   * @param name a check's name, as {@link HostCheck#name()} returns it
   * @return the check, or empty when none has this name
   */
  public Optional<HostCheck> check(String name) {
    return checks.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  /**
   * The checks that are not {@link HostCheck.Status#OK}: what to fix, the missing ones first.
   *
   * @return the WARN and MISSING checks, MISSING first; an unmodifiable list, empty when all is
   *     well
   */
  public List<HostCheck> problems() {
    List<HostCheck> problems = new java.util.ArrayList<>();
    for (HostCheck.Status status : List.of(HostCheck.Status.MISSING, HostCheck.Status.WARN)) {
      checks.stream().filter(c -> c.status() == status).forEach(problems::add);
    }
    return List.copyOf(problems);
  }

  /**
   * Whether a pod can start here with this runtime's configuration: no check is {@link
   * HostCheck.Status#MISSING}. Pods may still be slow or limited by the {@link
   * HostCheck.Status#WARN} ones (e.g. TCG, or no read-write mounts).
   *
   * @return {@code true} when no check is {@link HostCheck.Status#MISSING}
   */
  public boolean canStartPods() {
    return checks.stream().noneMatch(c -> c.status() == HostCheck.Status.MISSING);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (HostCheck c : checks) {
      sb.append(c).append('\n');
    }
    return sb.toString();
  }
}
