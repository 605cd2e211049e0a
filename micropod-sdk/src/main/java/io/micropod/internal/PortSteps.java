package io.micropod.internal;

import io.micropod.PortMapping;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.PortForwarder;
import java.io.IOException;
import java.net.BindException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The published ports: {@code ports.bind} listens on 127.0.0.1 before the VM runs (a taken port
 * fails the start early), {@code ports.start} accepts once the container runs; each connection
 * is one {@code PortForward} call on the pod's agent.
 */
final class PortSteps {
  private static final Logger log = LoggerFactory.getLogger(PortSteps.class);

  private PortSteps() {}

  static void bindPorts(Boot b, CleanupStack cleanup) {
    for (PortMapping m : b.spec.ports()) {
      PortForwarder f;
      try {
        f = AgentClient.forwardPort(b.id, m.hostPort(), m.containerPort(), () -> b.agent, b.portConnections);
      } catch (IOException e) {
        String why = e instanceof BindException ? "it is in use" : e.toString();
        throw new VmStartException("pod " + b.id + ": cannot listen on 127.0.0.1:" + m.hostPort()
            + " for container port " + m.containerPort() + ": " + why
            + "; choose another host port or let MicroPod pick one with port(" + m.containerPort() + ")",
            e, b.id, Phase.VM_BOOT, "ports.bind", "");
      }
      b.ports.put(m.containerPort(), f);
      cleanup.push("port.close." + m.containerPort(), f::close);
    }
  }

  static void startPorts(Boot b, CleanupStack cleanup) {
    for (PortForwarder f : b.ports.values()) {
      f.start();
      log.debug("pod {}: 127.0.0.1:{} -> container port {}", b.id, f.hostPort(), f.containerPort());
    }
  }
}
