package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.SnapshotException;
import io.micropod.event.Phase;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.base.SdkVersion;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.VmmDriver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warm starts (docs/snapshots.md): a pod restored from its configuration's <em>template</em>, a
 * snapshot of a booted guest whose agent serves and that has no container yet, then given its
 * container by the cold start's container steps. The first start of a configuration boots cold and
 * snapshots its VM into the template ({@code template.write}) before it creates its container.
 * Templates live in {@code <home>/templates/<key>/}, written as snapshots are (a temp directory,
 * renamed when whole); the key ({@link #key}) is everything a restored VM must share with the one
 * that was snapshotted. A template that fails to restore is removed and the pod starts cold.
 */
final class WarmStarts {
  private static final Logger log = LoggerFactory.getLogger(WarmStarts.class);
  /** {@code 1}: start warm every pod whose spec does not say otherwise and that can be. */
  static final String ENV = "MICROPOD_WARM_START";
  /** Bumped when what a template holds changes: old templates are then simply not found. */
  private static final int FORMAT = 1;

  private WarmStarts() {}

  /**
   * A warm start: {@code spec} is the pod's spec made snapshottable (a template is a snapshot),
   * {@code template} the template's directory; {@code restore} false after a template failed.
   */
  record Plan(MicroPodSpec spec, Path template, String key, boolean restore) {
    Plan cold() {
      return new Plan(spec, template, key, false);
    }
  }

  static Path dir(Path home) {
    return home.resolve("templates");
  }

  /**
   * The warm start of {@code spec}, or null to start it cold: not asked for (the spec's
   * {@code warmStart}, else {@link #ENV}), or impossible here (logged at DEBUG: the spec's
   * {@code build()} already refused an explicit {@code warmStart(true)} it can never have).
   */
  static Plan plan(MicroPodSpec spec, RuntimeServices runtime) {
    if (!spec.warmStart().orElseGet(() -> fromEnvironment(runtime.config()))) {
      return null;
    }
    String cannot = cannot(spec, runtime.driver());
    if (cannot != null) {
      log.debug("a pod of {} starts cold, not warm: {}", spec.image(), cannot);
      return null;
    }
    HostCapabilities host = runtime.host();
    String key = key(spec, SdkVersion.get(), Snapshots.guestIdentity(host), runtime.driver().name(),
        host.machine().qemuName(), host.accel() + "/" + host.tscKhz() + "/" + host.kernel() + "/" + host.initramfs()
            + "/" + host.systemImage(), runtime.config().debug());
    return new Plan(spec.newBuilder().snapshottable(true).build(), dir(runtime.config().home()).resolve(key), key,
        true);
  }

  static boolean fromEnvironment(RuntimeConfig config) {
    return "1".equals(config.getenv(ENV));
  }

  /** Why {@code spec} cannot start warm with {@code driver}; null when it can. */
  static String cannot(MicroPodSpec spec, VmmDriver driver) {
    String why = cannot(spec);
    if (why != null) {
      return why;
    }
    String unsupported = driver.snapshotsUnsupported();
    if (unsupported != null) {
      return unsupported;
    }
    if (driver.restoresBySpawning()) {
      // Firecracker's snapshot path has met only a stand-in (docs/firecracker.md)
      return "the " + driver.name() + " driver does not start pods warm (only QEMU does)";
    }
    return null;
  }

  /**
   * Why {@code spec} cannot start warm with any driver; null when it can. The rule is
   * {@code MicroPodSpec.Builder.warmStart(true)}'s, which {@code build()} enforces: a spec that
   * did not ask (warm starts from {@link #ENV}) is checked by asking.
   */
  static String cannot(MicroPodSpec spec) {
    try {
      spec.newBuilder().warmStart(true).build();
      return null;
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }

  /**
   * The template key: a hash of everything a restored VM must share with the snapshotted one (the
   * guest image, the SDK, the VMM driver, the machine and accelerator, the VM's memory and cpus,
   * the image whose block device the guest holds open, the network devices, the detached VMM, the
   * guest's debug mode); never of what only the container uses (command, environment, user,
   * hostname, ports, files, health check). 32 hex digits.
   */
  static String key(MicroPodSpec spec, String sdkVersion, String guest, String vmm, String machine, String accel,
      boolean debug) {
    List<String> parts = new ArrayList<>(List.of("format=" + FORMAT, "sdk=" + sdkVersion, "guest=" + guest,
        "vmm=" + vmm, "machine=" + machine, "accel=" + accel, "memoryMib=" + spec.memoryMib(),
        "cpus=" + spec.cpus(), "image=" + spec.image(), "platform=" + spec.platform(),
        "networkMode=" + spec.networkMode(), "detached=" + spec.detached(),
        "debug=" + debug));
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(String.join("\n", parts).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e); // every JDK has it
    }
  }

  /**
   * The template of {@code plan}, checked as a snapshot before a restore; null when there is none
   * (or a broken or foreign one, which is removed: the pod starts cold and makes it again).
   * Removes the temp directories of dead writers first (a SIGKILL while a template was written).
   */
  static Snapshots.Manifest find(Plan plan, RuntimeServices runtime, String podId) {
    Snapshots.sweepTempsIn(plan.template().getParent());
    if (!plan.restore() || !Files.isDirectory(plan.template())) {
      return null;
    }
    try {
      return Snapshots.forRestore(plan.template(), runtime.host(), runtime.driver().name(), podId);
    } catch (SnapshotException e) {
      discard(plan, podId, e);
      return null;
    }
  }

  /** Whether a warm start's failure {@code e} came from its template (then it starts cold). */
  static boolean templateFailed(MicroPodException e) {
    return e instanceof SnapshotException
        || e.phase().filter(p -> p == Phase.RESTORE || p == Phase.AGENT_CONNECT).isPresent();
  }

  /** Removes the template of {@code plan}, which {@code why} says cannot be restored. */
  static void discard(Plan plan, String podId, Exception why) {
    log.warn("pod {}: warm-start template {} cannot be restored ({}): removed, the pod starts cold and makes"
        + " it again", podId, plan.template(), why.getMessage());
    try {
      Snapshots.removeDir(plan.template());
    } catch (RuntimeException e) {
      log.warn("pod {}: cannot remove template {}: {}", podId, plan.template(), e.toString());
    }
  }

  /**
   * The steps of the cold start that makes the template: {@code template.write} between the
   * agent's first answer and the container's creation.
   */
  static List<BootStep<Boot>> coldSteps(Plan plan) {
    List<BootStep<Boot>> steps = new ArrayList<>(PodStarter.steps());
    steps.add(steps.indexOf(PodStarter.CONTAINER_CREATE),
        BootStep.of("template.write", Phase.SNAPSHOT, (b, cleanup) -> write(b, plan)));
    return List.copyOf(steps);
  }

  /**
   * Snapshots the guest, whose agent serves and which has no container yet, into the template.
   * Never fails the pod: a template that cannot be written (full disk, another JVM wrote it first)
   * is only logged, and a later start tries again.
   */
  static void write(Boot b, Plan plan) {
    long started = System.nanoTime();
    try {
      Snapshots.take(b, plan.key(), plan.template().getParent(), "");
      log.info("pod {}: warm-start template {} written in {} ms", b.id, plan.template(),
          (System.nanoTime() - started) / 1_000_000);
    } catch (RuntimeException e) {
      if (Files.isDirectory(plan.template())) {
        log.debug("pod {}: another start wrote template {} first", b.id, plan.template());
      } else {
        log.warn("pod {}: no warm-start template kept ({}); the pod starts on, a later start tries again",
            b.id, e.getMessage());
      }
    }
  }
}
