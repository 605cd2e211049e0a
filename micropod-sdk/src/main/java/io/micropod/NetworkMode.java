package io.micropod;

/**
 * The pod's own access to networks outside of the {@link Network}s it joins.
 *
 * @see MicroPodSpec.Builder#networkMode(NetworkMode)
 */
public enum NetworkMode {
  /**
   * The default: outbound access through NAT to whatever the host reaches, including services
   * on the host's loopback under the name {@value Network#HOST_NAME}. No root needed: with the
   * {@code qemu} driver this is QEMU's user-mode networking (slirp). Inbound connections from
   * the host go through port mapping, never through this interface. In the guest: {@code eth}
   * device with 10.0.2.15/24, gateway 10.0.2.2 (the host), DNS 10.0.2.3 (the host's resolvers).
   */
  NAT,
  /**
   * No network device at all: the guest has only {@code lo}. For untrusted code. A pod in this
   * mode cannot join {@link Network}s.
   */
  NONE
}
