package io.micropod;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Where the time of one {@code start()} went. Immutable.
 *
 * <ul>
 *   <li>{@link #image()}: resolving the image and unpacking its layers (0 when cached);
 *   <li>{@link #vmBoot()}: from spawning the VMM until the guest's {@code /init} started;
 *   <li>{@link #agentReady()}: from spawning the VMM until the guest agent answered;
 *   <li>{@link #containerStart()}: creating and starting the container in the guest;
 *   <li>{@link #total()}: the whole {@code start()} call.
 * </ul>
 *
 * {@code vmBoot} is part of {@code agentReady}; the parts do not add up to {@code total}, which
 * also holds the work between them (virtiofsd start-up, waiting for sockets). A pod restored from
 * a snapshot or started {@linkplain #warmStart() warm} boots no kernel: its {@code vmBoot} is zero
 * and its {@code agentReady} counts from the VMM's spawn until the restored agent answered.
 */
public final class BootTimings {
  private final Duration image;
  private final Duration vmBoot;
  private final Duration agentReady;
  private final Duration containerStart;
  private final Duration total;
  private final boolean warmStart;

  private BootTimings(Duration image, Duration vmBoot, Duration agentReady, Duration containerStart,
      Duration total, boolean warmStart) {
    this.image = Objects.requireNonNull(image, "image");
    this.vmBoot = Objects.requireNonNull(vmBoot, "vmBoot");
    this.agentReady = Objects.requireNonNull(agentReady, "agentReady");
    this.containerStart = Objects.requireNonNull(containerStart, "containerStart");
    this.total = Objects.requireNonNull(total, "total");
    this.warmStart = warmStart;
  }

  /**
   * Timings; useful for tests and fakes.
   *
   * @param image see {@link #image()}
   * @param vmBoot see {@link #vmBoot()}
   * @param agentReady see {@link #agentReady()}
   * @param containerStart see {@link #containerStart()}
   * @param total see {@link #total()}
   * @return timings with these values
   */
  public static BootTimings of(
      Duration image, Duration vmBoot, Duration agentReady, Duration containerStart, Duration total) {
    return new BootTimings(image, vmBoot, agentReady, containerStart, total, false);
  }

  /**
   * These timings, marked as those of a warm start or not.
   *
   * @param warmStart see {@link #warmStart()}
   * @return timings with the same durations
   */
  public BootTimings withWarmStart(boolean warmStart) {
    return new BootTimings(image, vmBoot, agentReady, containerStart, total, warmStart);
  }

  /**
   * Whether the pod was started warm: restored from its configuration's template, then its
   * container created ({@link MicroPodSpec.Builder#warmStart}).
   *
   * @return true for a warm start; false for a cold start (including the one that made the template)
   */
  public boolean warmStart() {
    return warmStart;
  }

  /**
   * Resolving the image and preparing its root filesystem (unpacking, unless cached).
   *
   * @return the time spent on the image; zero when it was resolved and unpacked before
   */
  public Duration image() {
    return image;
  }

  /**
   * VMM spawn to the guest's {@code /init} started. Computed from the guest's uptime when
   * {@code /init} started (the guest clock starts with the kernel) plus the VMM's own start-up
   * before the kernel ran, which the host derives from the guest clock in the agent's first
   * answer. Zero when the guest reports no timings.
   *
   * @return the guest's boot time, or zero when unknown
   */
  public Duration vmBoot() {
    return vmBoot;
  }

  /**
   * VMM spawn to the guest agent's first answer.
   *
   * @return the time until the agent answered
   */
  public Duration agentReady() {
    return agentReady;
  }

  /**
   * Creating and starting the container (the two agent calls).
   *
   * @return the time spent starting the container
   */
  public Duration containerStart() {
    return containerStart;
  }

  /**
   * The whole {@code start()}.
   *
   * @return the duration of the whole start
   */
  public Duration total() {
    return total;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof BootTimings)) {
      return false;
    }
    BootTimings t = (BootTimings) o;
    return image.equals(t.image) && vmBoot.equals(t.vmBoot) && agentReady.equals(t.agentReady)
        && containerStart.equals(t.containerStart) && total.equals(t.total) && warmStart == t.warmStart;
  }

  @Override
  public int hashCode() {
    return Objects.hash(image, vmBoot, agentReady, containerStart, total, warmStart);
  }

  /** One line, e.g. {@code image 12 ms, vm boot 2.1 s, agent ready 5.3 s, container start 1.1 s, total 6.6 s}. */
  @Override
  public String toString() {
    return "image " + format(image) + ", vm boot " + format(vmBoot) + ", agent ready "
        + format(agentReady) + ", container start " + format(containerStart) + ", total "
        + format(total) + (warmStart ? ", warm start" : "");
  }

  private static String format(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + " ms";
    }
    return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
  }
}
