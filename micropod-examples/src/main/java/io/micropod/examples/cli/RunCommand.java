package io.micropod.examples.cli;

import io.micropod.ImageRef;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PortMapping;
import io.micropod.PullPolicy;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod run}: starts a pod (pulling a registry image per {@code --pull}), prints the
 * published ports on stderr, streams the container's stdout to stdout and its stderr to stderr,
 * and exits with the container's exit status. Ctrl-C (or SIGTERM) stops the container as
 * {@code docker stop} does (SIGTERM, SIGKILL after {@code --stop-timeout}) and removes the pod
 * before the process ends.
 */
@Command(name = "run", description = "Run a command in a new pod (a container in its own microVM).",
    usageHelpAutoWidth = true)
final class RunCommand implements Callable<Integer> {
  /** How long the output of an exited container may take to arrive in full. */
  static final Duration LOG_DRAIN = Duration.ofSeconds(10);

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--rm", description = "Remove the pod when it exits (what a foreground pod always does today).")
  boolean rm;

  @Option(names = {"-d", "--detach"}, description = "Run in the background and print the pod id (not available yet).")
  boolean detach;

  @Option(names = "--name", paramLabel = "NAME", description = "Name the pod (not available yet).")
  String name;

  @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE",
      description = "Set an environment variable; KEY alone passes this shell's value (repeatable).")
  List<String> env = new ArrayList<>();

  @Option(names = {"-p", "--publish"}, paramLabel = "[HOST:]CONTAINER",
      description = "Publish a container TCP port on 127.0.0.1 of the host; HOST 0 or none: a free port (repeatable).")
  List<String> publish = new ArrayList<>();

  @Option(names = "--pull", paramLabel = "POLICY",
      description = "Pull the image: always, missing (the default: when not in the local store) or never.")
  String pull = "missing";

  @Option(names = "--stop-timeout", paramLabel = "SECONDS",
      description = "On Ctrl-C, seconds between SIGTERM and SIGKILL; default ${DEFAULT-VALUE}.")
  int stopTimeout = 10;

  @Option(names = {"-m", "--memory"}, paramLabel = "MiB",
      description = "Guest memory in MiB (suffixes m and g accepted); default ${DEFAULT-VALUE}.")
  String memory = String.valueOf(MicroPodSpec.DEFAULT_MEMORY_MIB);

  @Option(names = "--cpus", paramLabel = "N", description = "Virtual CPUs; default ${DEFAULT-VALUE}.")
  int cpus = 1;

  @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "Working directory in the container.")
  String workdir;

  @Mixin
  RegistryOptions registry;

  @Parameters(index = "0", paramLabel = "IMAGE",
      description = "The image: a registry reference (alpine:3.20, 127.0.0.1:5000/app:1), "
          + "a local OCI layout (oci:/path/to/layout[:tag]) or an archive (oci-archive:/x.tar, docker-archive:/x.tar).")
  String image;

  @Parameters(index = "1..*", paramLabel = "CMD", description = "The command and its arguments; default: the image's.")
  List<String> command = new ArrayList<>();

  @Override
  public Integer call() {
    MicroPodSpec spec = spec();
    try (PullProgress progress = new PullProgress(main.spec.commandLine().getErr(), main.terminal(),
        spec.image().toString())) {
      spec = spec.newBuilder().listener(progress).build();
      return runInForeground(spec, Duration.ofSeconds(stopTimeout), progress,
          main.spec.commandLine().getOut(), main.spec.commandLine().getErr());
    }
  }

  /**
   * The spec the options describe, with a runtime of its own (the caller closes it).
   *
   * @throws NotAvailableException for options that wait for SDK features
   * @throws IllegalArgumentException naming a bad option value
   */
  MicroPodSpec spec() {
    // TODO(reliability): -d needs pods that outlive this process (state directory, attach);
    // start the pod, print its id, and leave it to `micropod stop`.
    if (detach) {
      throw new NotAvailableException("detached pods (-d); run in the foreground, without -d");
    }
    // TODO(reliability): --name once list/stop/logs of other processes resolve it.
    if (name != null) {
      throw new NotAvailableException("pod names (--name)");
    }
    MicroPodSpec.Builder b = MicroPod.builder()
        .image(parseImage(image))
        .command(command)
        .env(env(env, main.env))
        .memoryMib(memoryMib(memory))
        .pullPolicy(pullPolicy(pull));
    for (String p : publish) {
      b.port(port(p));
    }
    if (cpus < 1) {
      throw new IllegalArgumentException("--cpus must be at least 1: " + cpus);
    }
    b.cpus(cpus);
    if (stopTimeout < 0) {
      throw new IllegalArgumentException("--stop-timeout must be 0 or more seconds: " + stopTimeout);
    }
    if (workdir != null) {
      if (!workdir.startsWith("/")) {
        throw new IllegalArgumentException("--workdir must be an absolute path: " + workdir);
      }
      b.workingDir(workdir);
    }
    return b.runtime(registry.runtime(main.env)).build();
  }

  /**
   * An image reference, or an IAE that says which forms there are.
   *
   * @throws IllegalArgumentException naming the bad reference
   */
  static ImageRef parseImage(String image) {
    try {
      return ImageRef.parse(image);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid image reference \"" + image + "\": " + e.getMessage()
          + "; use a registry reference (alpine:3.20, host:port/name:tag) or oci:/path/to/layout[:tag]");
    }
  }

  /** {@code always}, {@code missing} or {@code never}, as Docker's {@code --pull}. */
  static PullPolicy pullPolicy(String value) {
    switch (value.toLowerCase(Locale.ROOT)) {
      case "always":
        return PullPolicy.ALWAYS;
      case "missing":
        return PullPolicy.IF_MISSING;
      case "never":
        return PullPolicy.NEVER;
      default:
        throw new IllegalArgumentException("invalid --pull \"" + value + "\": use always, missing or never");
    }
  }

  /**
   * Docker's {@code -p}: {@code CONTAINER}, {@code HOST:CONTAINER} or {@code 127.0.0.1:HOST:CONTAINER},
   * optionally with {@code /tcp}; host port 0 or none is a free port chosen at start.
   */
  static PortMapping port(String value) {
    String v = value;
    if (v.endsWith("/tcp")) {
      v = v.substring(0, v.length() - 4);
    } else if (v.contains("/")) {
      throw new IllegalArgumentException("invalid --publish \"" + value + "\": only TCP ports can be published");
    }
    String[] parts = v.split(":", -1);
    if (parts.length == 3) {
      if (!parts[0].equals("127.0.0.1") && !parts[0].equals("localhost")) {
        throw new IllegalArgumentException("invalid --publish \"" + value
            + "\": ports are published on 127.0.0.1 only; drop the address");
      }
      parts = new String[] {parts[1], parts[2]};
    }
    if (parts.length > 2) {
      throw new IllegalArgumentException("invalid --publish \"" + value + "\": use [HOST:]CONTAINER, e.g. 8080:80 or 80");
    }
    int container = portNumber(parts[parts.length - 1], value, false);
    int host = parts.length == 2 && !parts[0].isEmpty() ? portNumber(parts[0], value, true) : 0;
    return host == 0 ? PortMapping.ofContainerPort(container) : PortMapping.of(host, container);
  }

  private static int portNumber(String text, String value, boolean zeroAllowed) {
    int n;
    try {
      n = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < (zeroAllowed ? 0 : 1) || n > 65535) {
      throw new IllegalArgumentException("invalid --publish \"" + value
          + "\": use [HOST:]CONTAINER with ports 1..65535 (HOST 0: a free port), e.g. 8080:80 or 80");
    }
    return n;
  }

  /** {@code KEY=VALUE} pairs; a bare {@code KEY} takes the value from {@code host} (skipped when unset), as Docker does. */
  static Map<String, String> env(List<String> pairs, Map<String, String> host) {
    Map<String, String> vars = new LinkedHashMap<>();
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (key.isEmpty() || key.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("invalid --env \"" + pair + "\": use KEY=VALUE with a non-empty KEY");
      }
      if (eq >= 0) {
        vars.put(key, pair.substring(eq + 1));
      } else if (host.containsKey(key)) {
        vars.put(key, host.get(key));
      }
    }
    return vars;
  }

  /** MiB from {@code 512}, {@code 512m} or {@code 2g}. */
  static int memoryMib(String value) {
    String v = value.strip().toLowerCase(Locale.ROOT);
    int factor = 1;
    if (v.endsWith("g")) {
      factor = 1024;
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("m")) {
      v = v.substring(0, v.length() - 1);
    }
    long mib;
    try {
      mib = Long.parseLong(v) * factor;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid --memory \"" + value + "\": use MiB, e.g. 512, 512m or 1g");
    }
    if (mib < MicroPodSpec.MIN_MEMORY_MIB || mib > MicroPodSpec.MAX_MEMORY_MIB) {
      throw new IllegalArgumentException("--memory must be " + MicroPodSpec.MIN_MEMORY_MIB + " to "
          + MicroPodSpec.MAX_MEMORY_MIB + " MiB: " + value);
    }
    return (int) mib;
  }

  /**
   * Starts the pod, prints its published ports on {@code err}, copies its stdout to {@code out} and
   * its stderr to {@code err} as they come, and returns its exit status. A JVM shutdown (Ctrl-C,
   * SIGTERM) stops the container ({@code stopTimeout} between SIGTERM and SIGKILL), prints what it
   * wrote meanwhile, and closes the pod. Closes the spec's runtime after the pod.
   */
  static int runInForeground(MicroPodSpec spec, Duration stopTimeout, PullProgress progress,
      PrintWriter out, PrintWriter err) {
    MicroPod pod;
    try {
      pod = MicroPod.start(spec);
    } catch (RuntimeException e) {
      spec.runtime().close();
      throw e;
    } finally {
      progress.close();
    }
    AtomicBoolean finished = new AtomicBoolean();
    AtomicBoolean interrupted = new AtomicBoolean();
    MicroPod.LogFollower follower;
    try {
      for (PortMapping p : spec.ports()) {
        err.println(p.containerPort() + "/tcp -> " + pod.host() + ":" + pod.mappedPort(p.containerPort()));
      }
      err.flush();
      follower = pod.followLogs(line -> {
        PrintWriter to = line.stream() == LogLine.Stream.STDOUT ? out : err;
        to.println(line.text());
        to.flush();
      });
    } catch (RuntimeException e) {
      pod.close();
      spec.runtime().close();
      throw e;
    }
    Thread stopper = new Thread(() -> {
      if (!finished.get()) {
        interrupted.set(true);
        err.println("micropod: stopping pod " + pod.id() + " (SIGTERM, SIGKILL after "
            + stopTimeout.toSeconds() + " s)");
        err.flush();
        try {
          pod.stop(stopTimeout);
          follower.awaitEnd(LOG_DRAIN);
        } catch (RuntimeException e) {
          err.println("micropod: " + e.getMessage());
        } finally {
          follower.close();
          pod.close();
          spec.runtime().close();
        }
      }
    }, "micropod-cli-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    try {
      int exit = pod.waitFor();
      follower.awaitEnd(LOG_DRAIN);
      return exit;
    } catch (RuntimeException e) {
      if (interrupted.get()) {
        return ExitCodes.INTERRUPTED; // the JVM is exiting; the hook closes the pod
      }
      throw e;
    } finally {
      finished.set(true);
      try {
        Runtime.getRuntime().removeShutdownHook(stopper);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs (or ran) and closes the pod
      }
      if (!interrupted.get()) {
        follower.close();
        pod.close();
        spec.runtime().close();
      }
    }
  }
}
