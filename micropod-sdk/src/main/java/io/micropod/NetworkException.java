package io.micropod;

import io.micropod.event.Phase;

/**
 * A {@link Network} could not be created or joined: the name is taken (also by another process
 * sharing the MicroPod home), an alias is already used on the network, the network is full, or
 * its switch could not start. Carries the network's name; the message says what to do.
 */
public class NetworkException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The network's name. */
  private final String networkName;

  /**
   * A failure of the network {@code networkName}, outside of any pod's start.
   *
   * @param networkName the network's name
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   */
  public NetworkException(String networkName, String message, Throwable cause) {
    this(networkName, message, cause, null, null);
  }

  /**
   * @param networkName the network's name
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod that tried to join, or null
   * @param phase the phase of that pod's start, or null
   */
  public NetworkException(
      String networkName, String message, Throwable cause, String podId, Phase phase) {
    super(message, cause, podId, phase);
    this.networkName = networkName;
  }

  /**
   * The network's name.
   *
   * @return the network's name, given or generated ({@code micropod-<12 hex>})
   */
  public String networkName() {
    return networkName;
  }
}
