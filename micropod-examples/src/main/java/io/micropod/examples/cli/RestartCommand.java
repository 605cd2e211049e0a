package io.micropod.examples.cli;

import io.micropod.ExecResult;
import io.micropod.MicroPod;
import io.micropod.MicroPodRuntime;
import io.micropod.MicroPodSpec;
import io.micropod.PodInfo;
import io.micropod.PortMapping;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod restart [-t SECONDS] ID|NAME...}: as {@code docker restart}, stops each pod
 * (SIGTERM, SIGKILL after {@code -t}) and starts it again, detached, with what its record keeps:
 * image, name, command, entrypoint, user, hostname, working directory, labels, memory, vCPUs,
 * network mode, volumes, published ports (the same host ports), networks and aliases, restart policy, health
 * check and egress rules. A pod is a VM, and the SDK starts a new one: the restarted pod has a new id, which is
 * printed.
 *
 * <p>The environment is never recorded on the host (SecurityIT), so it is read from the running
 * container ({@code /proc/1/environ}, with the image's {@code cat}) and handed to the new pod in
 * memory only; when the main process no longer runs it cannot be, and the new pod gets the image's
 * environment (a warning says so). Memory and vCPUs are the recorded ones (a pod of an SDK that
 * did not record them gets {@code run}'s defaults).
 */
@Command(name = "restart", description = "Stop pods and start them again with the same settings, detached:"
    + " a new VM, so a new pod id (printed).")
final class RestartCommand implements Callable<Integer> {
  /** How long a pod of another live process may take to be removed by it once stopped. */
  static final Duration REMOVAL = Duration.ofSeconds(30);

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Mixin
  StopTimeout timeout = new StopTimeout();

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    Duration grace = timeout.duration();
    return Pods.each(main, pods, (runtime, p) -> restart(runtime, p, grace));
  }

  /** Restarts {@code p}; returns the new pod's id. */
  private String restart(MicroPodRuntime runtime, String p, Duration grace) {
    MicroPodSpec spec;
    String oldId;
    try (MicroPod old = Pods.attach(runtime, p)) {
      oldId = old.id();
      PodInfo info = Pods.find(runtime.list(), oldId).orElseThrow(() -> new IllegalStateException(
          "pod " + p + " is gone: it ended while being restarted"));
      // the spec first: a pod whose spec cannot be rebuilt is left running
      spec = spec(info, environment(old, info, p), Pods.runtime(main.env));
      if (info.status() != PodInfo.Status.EXITED) {
        old.stop(grace);
      } // else closing removes it, as rm does

    }
    awaitRemoval(runtime, oldId, p);
    // a runtime of its own, never closed: the pod outlives this process (as run -d)
    return MicroPod.start(spec).id();
  }

  /**
   * The spec of {@code info} with {@code env}, detached, on {@code runtime}.
   *
   * @throws IllegalStateException when the pod's record has no spec yet (it is still starting)
   */
  static MicroPodSpec spec(PodInfo info, Map<String, String> env, MicroPodRuntime runtime) {
    PodInfo.Config c = info.config().orElseThrow(() -> new IllegalStateException("pod " + info.id()
        + " has no recorded settings yet (it is still starting): restart it once it runs"));
    MicroPodSpec.Builder b = MicroPod.builder().image(RunCommand.parseImage(info.image())).detached(true)
        .command(c.command()).env(env).restart(c.restart()).egress(c.egress());
    info.name().ifPresent(b::name);
    c.entrypoint().ifPresent(e -> b.entrypoint(e.toArray(String[]::new)));
    c.user().ifPresent(b::user);
    c.hostname().ifPresent(b::hostname);
    c.workingDir().ifPresent(b::workingDir);
    c.labels().forEach(b::label);
    c.healthcheck().ifPresent(b::healthcheck);
    c.memoryMib().ifPresent(b::memoryMib);
    c.cpus().ifPresent(b::cpus);
    b.networkMode(c.networkMode());
    for (String m : c.mounts()) {
      b.mount(RunCommand.volume(m));
    }
    info.ports().forEach((container, host) -> b.port(PortMapping.of(host, container)));
    for (String n : c.networks()) {
      b.network(RunCommand.network(runtime, n));
    }
    if (!c.networkAliases().isEmpty()) {
      b.networkAliases(c.networkAliases().toArray(String[]::new));
    }
    return b.runtime(runtime).build();
  }

  /**
   * The environment of {@code pod}'s main process, from {@code /proc/1/environ} of its container;
   * empty, with a warning on stderr, when it cannot be read (the main process exited, or the image
   * has no {@code cat}). Held in memory only.
   */
  private Map<String, String> environment(MicroPod pod, PodInfo info, String given) {
    if (info.status() == PodInfo.Status.RUNNING) {
      ExecResult r = pod.exec("cat", "/proc/1/environ");
      if (r.exitCode() == 0) {
        return environ(r.stdout());
      }
    }
    PrintWriter err = main.spec.commandLine().getErr();
    err.println("micropod: warning: " + given + ": the environment of its main process could not be read"
        + (info.status() == PodInfo.Status.RUNNING ? " (no cat in the image?)" : " (it is not running)")
        + ", and it is never recorded: the restarted pod has the image's environment only");
    err.flush();
    return Map.of();
  }

  /** {@code KEY=VALUE} entries separated by NUL, as {@code /proc/PID/environ}. */
  static Map<String, String> environ(String text) {
    Map<String, String> env = new LinkedHashMap<>();
    for (String entry : text.split("\0")) {
      int eq = entry.indexOf('=');
      if (eq > 0) {
        env.put(entry.substring(0, eq), entry.substring(eq + 1));
      }
    }
    return env;
  }

  /**
   * Waits until the record of {@code id} is gone: a pod another live process started is removed by
   * that process once its container stopped, and the name is free only then.
   */
  private static void awaitRemoval(MicroPodRuntime runtime, String id, String given) {
    long deadline = System.nanoTime() + REMOVAL.toNanos();
    while (Pods.find(runtime.list(), id).isPresent()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("pod " + given + " stopped but the process that holds it did not remove it"
            + " within " + REMOVAL.toSeconds() + " s: start it again with micropod run");
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }
}
