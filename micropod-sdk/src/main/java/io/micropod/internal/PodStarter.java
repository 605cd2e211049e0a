package io.micropod.internal;

import io.micropod.BootTimings;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.base.Ids;
import io.micropod.internal.net.LocalNetwork;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.VmmDriver;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a pod: checks the spec against the runtime, runs the {@link #steps boot steps} as one
 * {@link BootSequence} (undone on failure), and boots once more as a new pod when the first
 * attempt hit a kernel stall ({@link KernelStallWatch}).
 */
final class PodStarter {
  private static final Logger log = LoggerFactory.getLogger(PodStarter.class);

  private PodStarter() {}

  /**
   * Starts a pod.
   *
   * @throws MicroPodException (a subtype) when it could not; nothing is left behind
   */
  static MicroPod start(MicroPodSpec spec, RuntimeServices runtime) {
    try {
      return startOnce(spec, runtime);
    } catch (VmStartException e) {
      if (!KernelStallWatch.isStall(e)) {
        throw e;
      }
      log.warn("{}; everything was undone, booting it once more as a new pod", e.getMessage());
      try {
        return startOnce(spec, runtime);
      } catch (RuntimeException again) {
        again.addSuppressed(e);
        throw again;
      }
    }
  }

  /**
   * The steps of {@code b}'s start: a restore (from a snapshot, or a warm start's template, then
   * its container's steps), a cold start, or a cold start that writes the template of {@code warm}.
   */
  private static List<BootStep<Boot>> steps(Boot b, WarmStarts.Plan warm) {
    VmmDriver driver = b.runtime.driver();
    if (b.restoredFrom != null) {
      return warm != null ? SnapshotSteps.warmSteps(driver) : SnapshotSteps.steps(driver);
    }
    return warm != null ? WarmStarts.coldSteps(warm) : steps();
  }

  /** One boot attempt: a new pod id, every step, undone on failure. */
  private static MicroPod startOnce(MicroPodSpec spec, RuntimeServices runtime) {
    return startOnce(spec, runtime, WarmStarts.plan(spec, runtime));
  }

  /**
   * One boot attempt, warm ({@code warm} not null: from its template, or cold writing the template)
   * or cold. A warm start whose template failed is undone and starts again cold.
   */
  private static MicroPod startOnce(MicroPodSpec spec, RuntimeServices runtime, WarmStarts.Plan warm) {
    long started = System.nanoTime();
    String id = Ids.newPodId();
    HostCapabilities host = runtime.host();
    List<LocalNetwork> joining = NetworkSteps.check(spec, runtime);
    MountSteps.check(spec, runtime, id);
    SnapshotSteps.checkDriver(spec, runtime, id);
    Boot boot = new Boot(id, warm != null ? warm.spec() : spec, runtime, host, PodPaths.of(id, runtime), joining);
    if (spec.fromSnapshot().isPresent()) {
      boot.restoredFrom = SnapshotSteps.check(spec, runtime, id);
    } else if (warm != null) {
      boot.restoredFrom = WarmStarts.find(warm, runtime, id);
    }
    CleanupStack cleanup = new CleanupStack(id);
    runtime.sweepOnce();
    runtime.track(id, boot::kill);
    cleanup.push("runtime.untrack", () -> runtime.untrack(id));
    claimName(boot, cleanup);
    log.debug("pod {}: starting {}", id, spec);
    List<BootStep<Boot>> steps = steps(boot, warm);
    Map<String, Duration> took;
    try {
      try {
        took = new BootSequence<>(id, spec.listener(), steps).run(boot, cleanup);
      } finally {
        WarmStarts.unpin(boot.restoredFrom); // read: the pod has its RAM copy, QEMU loaded the state
      }
    } catch (MicroPodException e) {
      if (warm == null || boot.restoredFrom == null || !WarmStarts.templateFailed(e)) {
        throw e;
      }
      WarmStarts.discard(warm, id, e);
      return startOnce(spec, runtime, warm.cold());
    }
    boot.started = true;
    BootTimings timings = timings(boot, took, Duration.ofNanos(System.nanoTime() - started))
        .withWarmStart(warm != null && boot.restoredFrom != null);
    RealMicroPod pod = new RealMicroPod(boot, cleanup, timings);
    try {
      boot.updateRecord(r -> r.withStarted(Instant.now().toString()).withDetails(details(spec, boot.supervising().health(),
          timings)));
    } catch (RuntimeException e) {
      pod.close();
      throw new MicroPodException("pod " + id + " started but its record could not be written: "
          + e.getMessage() + "; the pod was stopped", e, id, Phase.CONTAINER_START);
    }
    boot.vmProcess().onExit().thenAccept(pod::vmExited);
    SupervisionWatch.start(boot, cleanup);
    EgressWatch.start(boot, cleanup);
    if (!spec.exitGracePeriod().isZero() && !spec.detached()) {
      runtime.track(id, pod::stopForJvmExit);
    }
    if (warm != null && boot.restoredFrom != null) {
      log.info("pod {} warm-started from template {} in {} ms: {}", id, warm.template(), timings.total().toMillis(),
          stepTimes(took));
    } else if (boot.restoredFrom != null) {
      // a restore has no kernel boot to time: where it went is its steps (docs/snapshots.md)
      log.info("pod {} restored from snapshot {} in {} ms: {}", id, boot.restoredFrom.snapshot().name(),
          timings.total().toMillis(), stepTimes(took));
    } else {
      log.info("pod {} started: {} ({})", id, spec.image(), timings);
    }
    return pod;
  }

  /** {@code step ms, ...} of the steps that took a millisecond or more, in order. */
  static String stepTimes(Map<String, Duration> took) {
    StringBuilder out = new StringBuilder();
    took.forEach((step, d) -> {
      if (d.toMillis() > 0) {
        out.append(out.length() == 0 ? "" : ", ").append(step).append(' ').append(d.toMillis()).append(" ms");
      }
    });
    return out.toString();
  }

  // ---- the steps: each produces one typed result (a StepResult of Boot) or one resource --------

  static final BootStep<Boot> IMAGE_RESOLVE =
      BootStep.of("image.resolve", Phase.IMAGE_PULL, ImageSteps::resolveImage);
  static final BootStep<Boot> ROOTFS_PREPARE =
      BootStep.of("rootfs.prepare", Phase.ROOTFS_PREPARE, ImageSteps::prepareRootfs);
  static final BootStep<Boot> CONSOLE_LOG_CREATE =
      BootStep.of("console.log.create", Phase.ROOTFS_PREPARE, VmSteps::createConsoleLog);
  static final BootStep<Boot> STATE_WRITE =
      BootStep.of("state.write", Phase.ROOTFS_PREPARE, VmSteps::writeRecord);
  static final BootStep<Boot> PODDIR_CREATE =
      BootStep.of("poddir.create", Phase.ROOTFS_PREPARE, VmSteps::createPodDir);
  static final BootStep<Boot> SOCKDIR_CREATE =
      BootStep.of("sockdir.create", Phase.ROOTFS_PREPARE, VmSteps::createSocketDir);
  static final BootStep<Boot> VIRTIOFS_START =
      BootStep.of("virtiofs.start", Phase.ROOTFS_PREPARE, VmSteps::shareRootfs);
  static final BootStep<Boot> MOUNTS_SHARE =
      BootStep.of("mounts.share", Phase.ROOTFS_PREPARE, MountSteps::share);
  static final BootStep<Boot> PORTS_BIND =
      BootStep.of("ports.bind", Phase.VM_BOOT, PortSteps::bindPorts);
  static final BootStep<Boot> NETWORK_ATTACH =
      BootStep.of("network.attach", Phase.VM_BOOT, NetworkSteps::attach);
  static final BootStep<Boot> VMM_SPAWN =
      BootStep.of("vmm.spawn", Phase.VM_BOOT, VmSteps::spawnVmm);
  static final BootStep<Boot> AGENT_CONNECT =
      BootStep.of("agent.connect", Phase.AGENT_CONNECT, VmSteps::connectAgent);
  static final BootStep<Boot> AGENT_RELAY =
      BootStep.of("agent.relay", Phase.AGENT_CONNECT, PortSteps::serveRelay);
  static final BootStep<Boot> CONTAINER_CREATE =
      BootStep.of("container.create", Phase.CONTAINER_START, ContainerSteps::createContainer);
  static final BootStep<Boot> CONTAINER_COPY =
      BootStep.of("container.copy", Phase.CONTAINER_START, ContainerSteps::copyFiles);
  static final BootStep<Boot> CONTAINER_START =
      BootStep.of("container.start", Phase.CONTAINER_START, ContainerSteps::startContainer);
  static final BootStep<Boot> PORTS_START =
      BootStep.of("ports.start", Phase.CONTAINER_START, PortSteps::startPorts);
  static final BootStep<Boot> NETWORK_ANNOUNCE =
      BootStep.of("network.announce", Phase.CONTAINER_START, NetworkSteps::announce);

  /**
   * The steps of a cold start, in order. Each reads the results of steps before it (see the
   * {@link StepResult} fields of {@link Boot}, named by the step that sets them); another way to
   * start (e.g. from a snapshot) is another list that replaces some steps by ones producing the
   * same results.
   */
  static List<BootStep<Boot>> steps() {
    return List.of(IMAGE_RESOLVE, ROOTFS_PREPARE, CONSOLE_LOG_CREATE, STATE_WRITE, PODDIR_CREATE,
        SOCKDIR_CREATE, VIRTIOFS_START, MOUNTS_SHARE, PORTS_BIND, NETWORK_ATTACH, VMM_SPAWN,
        AGENT_CONNECT, AGENT_RELAY, CONTAINER_CREATE, CONTAINER_COPY, CONTAINER_START, PORTS_START,
        NETWORK_ANNOUNCE);
  }

  /** Reserves the spec's name (API misuse, not a boot failure: before the sequence). */
  private static void claimName(Boot b, CleanupStack cleanup) {
    String name = b.spec.name().orElse(null);
    if (name == null) {
      return;
    }
    if (!b.runtime.claimName(name, b.id)) {
      cleanup.runAll();
      throw new IllegalStateException("a running pod of this runtime is already named \"" + name
          + "\": close it or choose another name");
    }
    cleanup.push("name.release", () -> b.runtime.releaseName(name, b.id));
  }

  /**
   * What a started pod's record holds for {@code inspect}: the spec without env values, the
   * effective health check ({@code healthcheck}, null for none: the image's when the spec has
   * none, as {@code docker inspect}'s {@code Config.Healthcheck}), the timings.
   */
  static PodRecord.Details details(MicroPodSpec spec, io.micropod.HealthCheck healthcheck, BootTimings t) {
    PodRecord.Health health = healthcheck == null ? null
        : new PodRecord.Health(healthcheck.command(), healthcheck.interval().toMillis(),
            healthcheck.timeout().toMillis(), healthcheck.retries(), healthcheck.startPeriod().toMillis());
    Map<String, Long> boot = new java.util.LinkedHashMap<>();
    boot.put("image", t.image().toMillis());
    boot.put("vmBoot", t.vmBoot().toMillis());
    boot.put("agentReady", t.agentReady().toMillis());
    boot.put("containerStart", t.containerStart().toMillis());
    boot.put("total", t.total().toMillis());
    return new PodRecord.Details(spec.entrypoint().orElse(null), spec.command(),
        spec.user().orElse(null),
        spec.hostname().orElse(null), spec.workingDir().orElse(null), spec.labels(),
        spec.networks().stream().map(io.micropod.Network::name).toList(), spec.networkAliases(),
        spec.restart().toString(), health, boot, PodRecord.Egress.of(spec.egress()), spec.networkMode().name(),
        spec.memoryMib(), spec.cpus());
  }

  static BootTimings timings(Boot b, Map<String, Duration> took, Duration total) {
    Duration image = took.getOrDefault("image.resolve", Duration.ZERO)
        .plus(took.getOrDefault("rootfs.prepare", Duration.ZERO));
    ConnectedAgent agent = b.agent.get();
    Duration agentReady = Duration.ofNanos(agent.readyNanos() - b.vm.get().spawnNanos());
    Duration containerStart = took.getOrDefault("container.create", Duration.ZERO)
        .plus(took.getOrDefault("container.start", Duration.ZERO));
    // a restored guest boots no kernel: its /init time is the snapshotted guest's
    Duration vmBoot = b.restoredFrom != null ? Duration.ZERO : vmBoot(agent.info(), agentReady);
    return BootTimings.of(image, vmBoot, agentReady, containerStart, total);
  }

  /**
   * VMM spawn to /init: the guest's uptime at /init (counted from kernel start) plus the time
   * before the kernel ran. That offset is the host-measured time of the agent's answer minus the
   * guest's uptime when it built the answer ({@code now_ms}); agents that do not report it give
   * their ready time instead, which overestimates by the first call's latency.
   */
  static Duration vmBoot(GuestInfo g, Duration agentReady) {
    if (g == null || g.initStartedMs() <= 0) {
      return Duration.ZERO;
    }
    long guestClockAtAnswer = g.nowMs() > 0 ? g.nowMs() : g.agentReadyMs();
    long beforeKernelMs = guestClockAtAnswer > 0 ? Math.max(0, agentReady.toMillis() - guestClockAtAnswer) : 0;
    return Duration.ofMillis(Math.min(g.initStartedMs() + beforeKernelMs, agentReady.toMillis()));
  }
}
