package io.micropod.internal;

import io.micropod.PortMapping;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.AgentRelay;
import io.micropod.internal.agent.PortForwarder;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The published ports: {@code ports.bind} listens on 127.0.0.1 before the VM runs (a taken port
 * fails the start early), {@code ports.start} accepts once the container runs; each connection
 * is one {@code PortForward} call on the pod's agent. A detached pod's ports are QEMU's NAT
 * {@code hostfwd} rules instead, so that they outlive this JVM. {@code agent.relay} lets other
 * processes of the user reach a pod this JVM holds.
 */
final class PortSteps {
  private static final Logger log = LoggerFactory.getLogger(PortSteps.class);

  private PortSteps() {}

  /**
   * {@code ports.bind}: a forwarder per published port, listening now and forwarding through the
   * agent once the container runs; for a detached pod, host ports for QEMU's NAT instead.
   */
  static void bindPorts(Boot b, CleanupStack cleanup) throws IOException {
    if (b.spec.detached() && !b.spec.ports().isEmpty()) {
      b.ports.set(new PublishedPorts(Map.of(), reserveHostForwards(b)));
      return;
    }
    Map<Integer, PortForwarder> forwarders = new LinkedHashMap<>();
    for (PortMapping m : b.spec.ports()) {
      PortForwarder f;
      try {
        f = AgentClient.forwardPort(b.id, m.hostPort(), m.containerPort(), b::agentClientOrNull,
            b.portConnections);
      } catch (IOException e) {
        throw cannotListen(b, m, e);
      }
      forwarders.put(m.containerPort(), f);
      cleanup.push("port.close." + m.containerPort(), f::close);
    }
    b.ports.set(new PublishedPorts(forwarders, Map.of()));
  }

  private static VmStartException cannotListen(Boot b, PortMapping m, IOException e) {
    String why = e instanceof BindException ? "it is in use" : e.toString();
    return new VmStartException("pod " + b.id + ": cannot listen on 127.0.0.1:" + m.hostPort()
        + " for container port " + m.containerPort() + ": " + why
        + "; choose another host port or let MicroPod pick one with port(" + m.containerPort() + ")",
        e, b.id, Phase.VM_BOOT, "ports.bind", "");
  }

  /**
   * A detached pod's published ports outlive this JVM, so this JVM cannot serve them: QEMU's
   * user-mode NAT listens on the host's 127.0.0.1 ({@code hostfwd}, see
   * {@code QemuCommandLine.netdevs}) and dies with the VM. QEMU cannot report a port it picked,
   * so a random port is chosen here (bound, then released just before QEMU binds it; another
   * process taking it in between makes QEMU's start fail, naming the rule). A fixed port is
   * checked the same way so that "in use" reads as it does for other pods.
   */
  private static Map<Integer, Integer> reserveHostForwards(Boot b) throws IOException {
    if (!"qemu".equals(b.runtime.driver().name())) {
      throw new VmStartException("pod " + b.id + ": a detached pod's published ports are served by "
          + "QEMU's user-mode networking, which the " + b.runtime.driver().name() + " driver lacks: use "
          + "the qemu driver (MICROPOD_VMM=qemu), or do not detach the pod (its ports then go through "
          + "the guest agent while this JVM runs)", null, b.id, Phase.VM_BOOT, "ports.bind", "");
    }
    List<ServerSocket> held = new ArrayList<>();
    Map<Integer, Integer> forwards = new LinkedHashMap<>();
    try {
      for (PortMapping m : b.spec.ports()) {
        ServerSocket s = new ServerSocket();
        held.add(s);
        try {
          s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), m.hostPort()), 1);
        } catch (IOException e) {
          throw cannotListen(b, m, e);
        }
        forwards.put(m.containerPort(), s.getLocalPort());
      }
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
    return forwards;
  }

  /** {@code ports.start}: the forwarders serve; the record gets every published port. */
  static void startPorts(Boot b, CleanupStack cleanup) {
    Map<String, Integer> recorded = new LinkedHashMap<>();
    PublishedPorts ports = b.ports.get();
    for (PortForwarder f : ports.forwarders().values()) {
      f.start();
      log.debug("pod {}: 127.0.0.1:{} -> container port {}", b.id, f.hostPort(), f.containerPort());
      recorded.put(Integer.toString(f.containerPort()), f.hostPort());
    }
    ports.natForwards().forEach((container, host) -> {
      log.debug("pod {}: 127.0.0.1:{} -> container port {} (QEMU's NAT)", b.id, host, container);
      recorded.put(Integer.toString(container), host);
    });
    if (!recorded.isEmpty()) {
      b.updateRecord(r -> r.withPorts(recorded));
    }
  }

  /** Container port to host port of every published port of {@code b}. */
  static Map<Integer, Integer> publishedPorts(Boot b) {
    return b.ports.get().all();
  }

  /**
   * {@code agent.relay}: other processes of the user reach this pod through this JVM's agent
   * connection ({@link AgentRelay}); its undo is {@link PodResources#relay}.
   */
  static void serveRelay(Boot b, CleanupStack cleanup) {
    PodResources.relay(b, cleanup);
    startRelay(b);
  }

  /**
   * Starts the relay of {@code b}, whose undo is already registered. A pod works without it, so a
   * relay that cannot start is a WARN, not a failed start: others then get PodBusyException.
   */
  static void startRelay(Boot b) {
    try {
      b.relay = b.runtime.agentTransport().serveRelay(b.id, b.agentClient(), b.paths.socketDir(),
          b.runtime.executor());
    } catch (IOException | RuntimeException e) {
      log.warn("pod {}: other processes cannot reach it while this JVM holds it: cannot serve {} ({})",
          b.id, AgentRelay.socketOf(b.paths.socketDir()), e.toString());
    }
  }
}
