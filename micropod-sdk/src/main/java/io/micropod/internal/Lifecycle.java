package io.micropod.internal;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.ContainerFile;
import io.micropod.ExecSpec;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.PortMapping;
import io.micropod.VmStartException;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.OutputStream;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.TerminalSize;
import io.micropod.event.Phase;
import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.net.PortForwarder;
import io.micropod.internal.tar.TarStreams;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The boot steps and handle verbs of the lifecycle API (ports, files, exec options, log
 * following, copies), kept out of {@link RealMicroPod} so that it stays small.
 */
final class Lifecycle {
  private static final Logger log = LoggerFactory.getLogger(Lifecycle.class);
  /** Deadline of short unary calls (Signal, GetStats). */
  static final Duration CALL_DEADLINE = Duration.ofSeconds(30);
  /** Deadline of one copy in or out. */
  static final Duration COPY_DEADLINE = Duration.ofMinutes(10);

  private Lifecycle() {}

  // ---- boot steps ---------------------------------------------------------------------------

  /**
   * {@code ports.bind}: a forwarder per published port, listening now and forwarding through the
   * agent once the container runs; for a detached pod, host ports for QEMU's NAT instead.
   */
  static void bindPorts(Boot b, CleanupStack cleanup) throws IOException {
    if (b.spec.detached() && !b.spec.ports().isEmpty()) {
      reserveHostForwards(b);
      return;
    }
    for (PortMapping m : b.spec.ports()) {
      PortForwarder f;
      try {
        f = new PortForwarder(b.id, m.hostPort(), m.containerPort(),
            observer -> b.agent.asyncStub().portForward(observer), b.portConnections);
      } catch (IOException e) {
        throw cannotListen(b, m, e);
      }
      b.ports.put(m.containerPort(), f);
      cleanup.push("port.close." + m.containerPort(), f::close);
    }
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
  private static void reserveHostForwards(Boot b) throws IOException {
    if (!"qemu".equals(b.runtime.driver().name())) {
      throw new VmStartException("pod " + b.id + ": a detached pod's published ports are served by "
          + "QEMU's user-mode networking, which the " + b.runtime.driver().name() + " driver lacks: use "
          + "the qemu driver (MICROPOD_VMM=qemu), or do not detach the pod (its ports then go through "
          + "the guest agent while this JVM runs)", null, b.id, Phase.VM_BOOT, "ports.bind", "");
    }
    List<java.net.ServerSocket> held = new ArrayList<>();
    try {
      for (PortMapping m : b.spec.ports()) {
        java.net.ServerSocket s = new java.net.ServerSocket();
        held.add(s);
        try {
          s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), m.hostPort()), 1);
        } catch (IOException e) {
          throw cannotListen(b, m, e);
        }
        b.hostForwards.put(m.containerPort(), s.getLocalPort());
      }
    } finally {
      for (java.net.ServerSocket s : held) {
        s.close();
      }
    }
  }

  /** {@code ports.start}: the forwarders serve; the record gets every published port. */
  static void startPorts(Boot b, CleanupStack cleanup) {
    Map<String, Integer> recorded = new LinkedHashMap<>();
    for (PortForwarder f : b.ports.values()) {
      f.start();
      log.debug("pod {}: 127.0.0.1:{} -> container port {}", b.id, f.hostPort(), f.containerPort());
      recorded.put(Integer.toString(f.containerPort()), f.hostPort());
    }
    b.hostForwards.forEach((container, host) -> {
      log.debug("pod {}: 127.0.0.1:{} -> container port {} (QEMU's NAT)", b.id, host, container);
      recorded.put(Integer.toString(container), host);
    });
    if (!recorded.isEmpty()) {
      b.updateRecord(r -> r.withPorts(recorded));
    }
  }

  /** Container port to host port of every published port of {@code b}. */
  static Map<Integer, Integer> publishedPorts(Boot b) {
    Map<Integer, Integer> all = new LinkedHashMap<>();
    b.ports.forEach((container, f) -> all.put(container, f.hostPort()));
    synchronized (b.hostForwards) {
      all.putAll(b.hostForwards);
    }
    return all;
  }

  /**
   * {@code agent.relay}: other processes of the user reach this pod through this JVM's agent
   * connection ({@link io.micropod.internal.agent.AgentRelay}). A pod works without it, so a
   * relay that cannot start is a WARN, not a failed start: others then get PodBusyException.
   */
  static void serveRelay(Boot b, CleanupStack cleanup) {
    try {
      io.micropod.internal.agent.AgentRelay relay = io.micropod.internal.agent.AgentRelay.start(b.id,
          b.agent.asyncStub().getChannel(), b.socketDir, b.runtime.eventLoop(), b.runtime.executor());
      cleanup.push("agent.relay.stop", relay::close);
    } catch (IOException | RuntimeException e) {
      log.warn("pod {}: other processes cannot reach it while this JVM holds it: cannot serve {} ({})",
          b.id, io.micropod.internal.agent.AgentRelay.socketOf(b.socketDir), e.toString());
    }
  }

  static void copyFiles(Boot b, CleanupStack cleanup) {
    for (ContainerFile file : b.spec.files()) {
      try {
        copyIn(b, file);
      } catch (AgentException e) {
        throw new MicroPodException("pod " + b.id + ": cannot copy " + file + " into the container: "
            + e.getMessage(), e, b.id, Phase.CONTAINER_START);
      }
    }
  }

  // ---- verbs --------------------------------------------------------------------------------

  static ProcessSpec processSpec(Boot b, ExecSpec spec) {
    ProcessPlan plan = b.plan;
    Map<String, String> env = new LinkedHashMap<>();
    for (String kv : plan.env()) {
      int eq = kv.indexOf('=');
      env.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    env.putAll(spec.env());
    List<String> envList = new ArrayList<>();
    env.forEach((k, v) -> envList.add(k + "=" + v));
    String user = spec.user()
        .map(u -> ProcessPlan.resolveUser(u, b.rootfs, b.spec.image().toString()))
        .orElse(plan.user());
    return ProcessSpec.newBuilder()
        .addAllArgs(spec.command())
        .addAllEnv(envList)
        .setCwd(spec.workingDir().orElse(plan.cwd()))
        .setUser(user)
        .setTerminal(spec.tty().isPresent())
        .build();
  }

  /** The agent's terminal size of {@code spec}; null without a TTY. */
  static TerminalSize terminalSize(ExecSpec spec) {
    return spec.tty()
        .map(t -> TerminalSize.newBuilder()
            .setColumns(t.columns()).setRows(t.rows()).build())
        .orElse(null);
  }

  /** Sends a signal; false when the process already exited. */
  static boolean trySignal(RealMicroPod pod, int signal) {
    try {
      pod.signal(signal);
      return true;
    } catch (AgentException e) {
      if (e.status() == AgentStatus.FAILED_PRECONDITION) {
        return false;
      }
      throw e;
    }
  }

  static void copyIn(Boot b, ContainerFile file) {
    String target = file.containerPath();
    int slash = target.lastIndexOf('/');
    String dir = slash == 0 ? "/" : target.substring(0, slash);
    String name = target.substring(slash + 1);
    try (java.io.OutputStream out = b.agent.copyIn(b.id, dir, COPY_DEADLINE)) {
      if (file.hostPath().isPresent()) {
        TarStreams.write(file.hostPath().get(), name, out);
      } else {
        TarStreams.writeBytes(file.content().orElseThrow(), name, file.mode(), out);
      }
    } catch (IOException e) {
      throw asMicroPod(b, e, "copy " + file + " into the container");
    }
  }

  static void copyOut(Boot b, String containerPath, Path hostPath) {
    try (InputStream in = b.agent.copyOut(b.id, containerPath, COPY_DEADLINE)) {
      TarStreams.extract(in, hostPath);
    } catch (IOException e) {
      throw asMicroPod(b, e, "copy " + containerPath + " out of the container to " + hostPath);
    }
  }

  private static MicroPodException asMicroPod(Boot b, IOException e, String what) {
    Throwable c = e.getCause();
    while (c != null) {
      if (c instanceof MicroPodException) {
        return (MicroPodException) c;
      }
      c = c.getCause();
    }
    return new MicroPodException("pod " + b.id + ": cannot " + what + ": " + e.getMessage(), e, b.id, null);
  }

  static MicroPod.LogFollower followLogs(Boot b, Consumer<LogLine> consumer) {
    Follower f = new Follower(b.id, consumer);
    b.agent.asyncStub().readLogs(
        ReadLogsRequest.newBuilder().setContainerId(b.id).setFollow(true).build(), f);
    return f;
  }

  /** Splits chunks into lines per stream; runs on gRPC's executor, one callback at a time. */
  static final class Follower implements ClientResponseObserver<ReadLogsRequest, LogChunk>,
      MicroPod.LogFollower {
    private final String podId;
    private final Consumer<LogLine> consumer;
    private final LineSplitter out = new LineSplitter();
    private final LineSplitter err = new LineSplitter();
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile ClientCallStreamObserver<ReadLogsRequest> call;

    Follower(String podId, Consumer<LogLine> consumer) {
      this.podId = podId;
      this.consumer = consumer;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ReadLogsRequest> call) {
      this.call = call;
    }

    @Override
    public void onNext(LogChunk c) {
      boolean stderr = c.getStream() == OutputStream.OUTPUT_STREAM_STDERR;
      LineSplitter s = stderr ? err : out;
      for (String line : s.feed(c.getData().toByteArray())) {
        deliver(new LogLine(stderr ? LogLine.Stream.STDERR : LogLine.Stream.STDOUT, line));
      }
    }

    private void deliver(LogLine line) {
      try {
        consumer.accept(line);
      } catch (RuntimeException e) {
        log.warn("pod {}: a log consumer threw; line skipped", podId, e);
      }
    }

    @Override
    public void onError(Throwable t) {
      log.debug("pod {}: following logs ended: {}", podId, t.toString());
      flush();
    }

    @Override
    public void onCompleted() {
      flush();
    }

    private void flush() {
      String o = out.rest();
      if (o != null) {
        deliver(new LogLine(LogLine.Stream.STDOUT, o));
      }
      String e = err.rest();
      if (e != null) {
        deliver(new LogLine(LogLine.Stream.STDERR, e));
      }
      ended.countDown();
    }

    @Override
    public void close() {
      ClientCallStreamObserver<ReadLogsRequest> c = call;
      if (c != null && ended.getCount() > 0) {
        c.cancel("closed by the caller", null);
      }
    }

    @Override
    public boolean awaitEnd(Duration timeout) {
      try {
        return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new MicroPodException("interrupted while following the logs of pod " + podId, e, podId, null);
      }
    }
  }
}
