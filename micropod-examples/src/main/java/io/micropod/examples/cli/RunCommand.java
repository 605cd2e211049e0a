package io.micropod.examples.cli;

import io.micropod.ImageRef;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod run}: starts a pod, streams its output, and exits with the container's exit
 * status; Ctrl-C (or SIGTERM) stops the pod before the process ends.
 */
@Command(name = "run", description = "Run a command in a new pod (a container in its own microVM).",
    usageHelpAutoWidth = true)
final class RunCommand implements Callable<Integer> {
  /** How often the foreground loop looks for new output. */
  static final Duration POLL = Duration.ofMillis(100);

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

  @Option(names = {"-p", "--publish"}, paramLabel = "HOST:CONTAINER",
      description = "Publish a container port on the host (not available yet).")
  List<String> publish = new ArrayList<>();

  @Option(names = {"-m", "--memory"}, paramLabel = "MiB",
      description = "Guest memory in MiB (suffixes m and g accepted); default ${DEFAULT-VALUE}.")
  String memory = String.valueOf(MicroPodSpec.DEFAULT_MEMORY_MIB);

  @Option(names = "--cpus", paramLabel = "N", description = "Virtual CPUs; default ${DEFAULT-VALUE}.")
  int cpus = 1;

  @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "Working directory in the container.")
  String workdir;

  @Parameters(index = "0", paramLabel = "IMAGE",
      description = "The image: a local OCI layout, oci:/path/to/layout[:tag].")
  String image;

  @Parameters(index = "1..*", paramLabel = "CMD", description = "The command and its arguments; default: the image's.")
  List<String> command = new ArrayList<>();

  @Override
  public Integer call() {
    MicroPodSpec spec = spec();
    return runInForeground(spec, main.spec.commandLine().getOut(), main.spec.commandLine().getErr());
  }

  /**
   * The spec the options describe.
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
    // TODO(reliability): --name once MicroPodSpec has a name (and list/stop/logs resolve it).
    if (name != null) {
      throw new NotAvailableException("pod names (--name)");
    }
    // TODO(lifecycle): -p HOST:CONTAINER once the SDK maps ports.
    if (!publish.isEmpty()) {
      throw new NotAvailableException("port mapping (-p " + publish.get(0) + ")");
    }
    ImageRef ref;
    try {
      ref = ImageRef.parse(image);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid image reference \"" + image + "\": " + e.getMessage()
          + "; use oci:/path/to/layout[:tag]");
    }
    // TODO(images): drop this check once the SDK pulls from registries.
    if (!ref.isOciLayout()) {
      throw new NotAvailableException("pulling images from registries (" + image
          + "); run a local OCI image layout: oci:/path/to/layout[:tag]");
    }
    MicroPodSpec.Builder b = MicroPod.builder()
        .image(ref)
        .command(command)
        .env(env(env, main.env))
        .memoryMib(memoryMib(memory));
    if (cpus < 1) {
      throw new IllegalArgumentException("--cpus must be at least 1: " + cpus);
    }
    b.cpus(cpus);
    if (workdir != null) {
      if (!workdir.startsWith("/")) {
        throw new IllegalArgumentException("--workdir must be an absolute path: " + workdir);
      }
      b.workingDir(workdir);
    }
    return b.build();
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
   * Starts the pod, copies its output to {@code out} as it comes, and returns its exit status.
   * A JVM shutdown (Ctrl-C, SIGTERM) closes the pod first.
   */
  static int runInForeground(MicroPodSpec spec, PrintWriter out, PrintWriter err) {
    MicroPod pod = MicroPod.start(spec);
    AtomicBoolean finished = new AtomicBoolean();
    AtomicBoolean interrupted = new AtomicBoolean();
    Thread stopper = new Thread(() -> {
      if (!finished.get()) {
        interrupted.set(true);
        err.println("micropod: stopping pod " + pod.id());
        err.flush();
        pod.close();
      }
    }, "micropod-cli-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    try {
      // TODO(lifecycle): stream with the SDK's log follow instead of polling logs().
      int printed = 0;
      while (true) {
        OptionalInt exit = pod.waitFor(POLL);
        String logs = pod.logs();
        if (logs.length() > printed) {
          out.print(logs.substring(printed));
          out.flush();
          printed = logs.length();
        }
        if (exit.isPresent()) {
          return exit.getAsInt();
        }
      }
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
        pod.close();
      }
    }
  }
}
