package io.micropod.event;

import java.time.Duration;

/**
 * Receives typed progress events of pods: one {@code phaseStart} and then either one
 * {@code phaseEnd} or one {@code phaseFailed} per {@link Phase}; and, once the pod runs, one
 * {@code execEnd} or {@code execFailed} per exec.
 *
 * <p>Implementations must be fast, must not block and should not throw: they run on the thread
 * that starts or closes the pod. Anything a listener throws is caught and logged at WARN; it
 * never changes the outcome of {@code start()} or {@code close()}. One listener may serve many
 * pods at once, from many threads: tell them apart by {@code podId}.
 *
 * <pre>{@code
 * MicroPodListener timings = new MicroPodListener() {
 *   @Override public void phaseEnd(String podId, Phase phase, Duration took) {
 *     System.out.printf("%s %s took %d ms%n", podId, phase, took.toMillis());
 *   }
 * };
 * try (MicroPod pod = MicroPod.builder().image("oci:/images/busybox").listener(timings).start()) {
 *   ...
 * }
 * }</pre>
 */
public interface MicroPodListener {
  /** A listener that ignores every event; the default of {@code MicroPodSpec}. */
  MicroPodListener NONE = new MicroPodListener() {};

  /**
   * {@code phase} of pod {@code podId} begins.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it (12 hex characters)
   * @param phase the phase that begins
   */
  default void phaseStart(String podId, Phase phase) {}

  /**
   * {@code phase} of pod {@code podId} completed after {@code took}.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param phase the phase that completed
   * @param took wall-clock time from this phase's {@code phaseStart} to its end; never negative
   */
  default void phaseEnd(String podId, Phase phase, Duration took) {}

  /**
   * {@code phase} of pod {@code podId} failed with {@code cause}. During {@code start()} this is
   * the exception {@code start()} is about to throw, once everything already done has been
   * undone. During {@code close()} ({@link Phase#STOP}) it is a {@code MicroPodException} whose
   * suppressed exceptions are the individual clean-up failures.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param phase the phase that failed
   * @param cause why it failed; never null
   */
  default void phaseFailed(String podId, Phase phase, Throwable cause) {}

  /**
   * Progress of {@code phase} of pod {@code podId}, in bytes. In {@link Phase#IMAGE_PULL}:
   * {@code done} bytes of the image's config and layers downloaded so far out of {@code total}
   * (summed over the layers, which download in parallel); blobs already in the local store count
   * neither way. Called often (about every 64 KiB) from the download threads, possibly
   * concurrently: keep it cheap. Not called when nothing needs downloading.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param phase the phase making progress; today only {@link Phase#IMAGE_PULL}
   * @param done bytes downloaded so far, between 0 and {@code total}
   * @param total bytes to download in all (the blobs not already in the local store)
   */
  default void progress(String podId, Phase phase, long done, long total) {}

  /**
   * A process run in pod {@code podId} ({@code MicroPod.exec} or {@code execStreaming}) exited
   * with {@code exitCode} after {@code took}. A non-zero exit code is data, reported here, not
   * through {@link #execFailed}. Called on the thread that ran the exec (for
   * {@code execStreaming}: an SDK thread, when the process ends). The command line is not passed:
   * it may carry secrets.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param exitCode the process's exit status, 0..255 (128 + signal number when a signal ended it)
   * @param took wall-clock time from the exec call to the process's exit; never negative
   */
  default void execEnd(String podId, int exitCode, Duration took) {}

  /**
   * A process could not be run in pod {@code podId}, or its exec call failed before it exited
   * (the agent refused it, the container or the VM is gone, the caller was interrupted).
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param took wall-clock time from the exec call to the failure; never negative
   * @param cause the exception the exec call throws (or, for {@code execStreaming}, that
   *     {@code await()} throws); never null
   */
  default void execFailed(String podId, Duration took, Throwable cause) {}

  /**
   * The health of pod {@code podId}'s container changed (its {@code HealthCheck}, the spec's or
   * the image's). Reported by the JVM that started the pod, from what the guest agent wrote on
   * the pod's console, within about a second of the change; after a restart the health starts
   * again at {@code STARTING}.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param health the new health ({@code lastOutput()} is empty here: ask {@code MicroPod.health()})
   */
  default void healthChanged(String podId, io.micropod.HealthState health) {}

  /**
   * The guest agent restarted pod {@code podId}'s main process as its {@code RestartPolicy}
   * says; reported like {@link #healthChanged}.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param restartCount restarts so far, 1 for the first
   * @param exitCode the exit status of the run that ended
   */
  default void containerRestarted(String podId, int restartCount, int exitCode) {}

  /**
   * Pod {@code podId} ended by itself: a deadline of its spec passed, and its VM powered off.
   * The handle stays open until closed (then removes what is left on the host).
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param reason {@code max-lifetime} or {@code idle-timeout}
   */
  default void podEnded(String podId, String reason) {}

  /**
   * Pod {@code podId} tried to reach a destination that its egress rules
   * ({@code MicroPodSpec.egress()}) or the NAT's protection of the host deny; the attempt was
   * refused at once. Reported by the JVM that started the pod, from what QEMU's network guard
   * wrote, within about a second. The guard reports at most about 20 denials a second per pod;
   * the ones it left out come as one call with {@code protocol} and {@code destination}
   * {@code "*"}, {@code port} 0 and their number as {@code count}.
   *
   * @param podId the pod's id, as {@code MicroPod.id()} returns it
   * @param protocol {@code tcp} (a connection), {@code udp} (a datagram), {@code dns} (a query
   *     for a denied name, never sent to the resolver), or {@code *} (see above)
   * @param destination the IPv4 or IPv6 address, or for {@code dns} the name asked for
   *     ({@code ?} for a query the guard could not read)
   * @param port the destination port (53 for {@code dns})
   * @param count 1, or for {@code *} how many denials were left out
   */
  default void egressDenied(String podId, String protocol, String destination, int port, long count) {}
}
