package io.micropod;

import java.util.Objects;

/**
 * A TCP port of the container published on the host's loopback address. The SDK listens on
 * {@code 127.0.0.1:hostPort} and forwards each connection through the agent channel to
 * {@code 127.0.0.1:containerPort} in the guest (containers share the guest's network), so it
 * needs no root, no TAP device and works with every driver. Immutable.
 */
public final class PortMapping {
  private final int containerPort;
  private final int hostPort;

  private PortMapping(int containerPort, int hostPort) {
    this.containerPort = containerPort;
    this.hostPort = hostPort;
  }

  /**
   * {@code containerPort} on a random free host port, chosen at start; read it with
   * {@link MicroPod#mappedPort(int)}.
   *
   * @param containerPort the TCP port the container listens on, 1..65535
   * @return a mapping to a host port chosen at start
   * @throws IllegalArgumentException when the port is not 1..65535
   */
  public static PortMapping ofContainerPort(int containerPort) {
    return new PortMapping(check("containerPort", containerPort), 0);
  }

  /**
   * {@code containerPort} on the fixed {@code hostPort}; {@code start()} fails when that port is in
   * use.
   *
   * @param hostPort the TCP port on the host's 127.0.0.1, 1..65535
   * @param containerPort the TCP port the container listens on, 1..65535
   * @return a mapping from {@code hostPort} to {@code containerPort}
   * @throws IllegalArgumentException when a port is not 1..65535
   */
  public static PortMapping of(int hostPort, int containerPort) {
    return new PortMapping(check("containerPort", containerPort), check("hostPort", hostPort));
  }

  private static int check(String what, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(what + " is not 1..65535: " + port);
    }
    return port;
  }

  /**
   * The container's port.
   *
   * @return the container's TCP port, 1..65535
   */
  public int containerPort() {
    return containerPort;
  }

  /**
   * The fixed host port; 0 for a random one.
   *
   * @return the host port, 1..65535, or 0 when it is chosen at start
   */
  public int hostPort() {
    return hostPort;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PortMapping && ((PortMapping) o).containerPort == containerPort
        && ((PortMapping) o).hostPort == hostPort;
  }

  @Override
  public int hashCode() {
    return Objects.hash(containerPort, hostPort);
  }

  @Override
  public String toString() {
    return (hostPort == 0 ? "random" : String.valueOf(hostPort)) + "->" + containerPort;
  }
}
