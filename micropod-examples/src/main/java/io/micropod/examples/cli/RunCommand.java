package io.micropod.examples.cli;

import io.micropod.ImageRef;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PortMapping;
import io.micropod.PullPolicy;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
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
  /** Docker's built-in networks: {@code --network} values that are modes, not networks. */
  static final java.util.Set<String> DOCKER_NETWORKS = java.util.Set.of("bridge", "default", "none", "host");
  /** What those names mean to {@code micropod run}. */
  static final String DOCKER_NETWORKS_MEANING = "--network bridge and default mean the NAT, none only loopback, host is refused";

  /** How long the output of an exited container may take to arrive in full. */
  static final Duration LOG_DRAIN = Duration.ofSeconds(10);

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--rm", description = "Remove the pod when it exits (what a foreground pod always does today).")
  boolean rm;

  @Option(names = {"-d", "--detach"}, description = "Run in the background and print the pod id; the pod outlives this process (micropod stop ends it).")
  boolean detach;

  @Option(names = {"-i", "--interactive"}, description = "Keep the container's stdin open and stream this process's stdin to it.")
  boolean interactive;

  @Option(names = {"-t", "--tty"}, description = "Run the container's process on a pseudo-terminal of this terminal's size (else 80x24); with -i, this terminal is in raw mode meanwhile (Ctrl-C goes to the container) and resizes are followed.")
  boolean tty;

  @Option(names = "--name", paramLabel = "NAME", description = "Name the pod (unique among live pods); logs, exec and stop take the name as well as the id.")
  String name;

  @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE",
      description = "Set an environment variable; KEY alone passes this shell's value (repeatable).")
  List<String> env = new ArrayList<>();

  @Option(names = {"-p", "--publish"}, paramLabel = "[HOST:]CONTAINER",
      description = "Publish a container TCP port on 127.0.0.1 of the host; HOST 0 or none: a free port (repeatable).")
  List<String> publish = new ArrayList<>();

  @Option(names = "--expose-host-port", paramLabel = "PORT",
      description = "Let the pod reach this TCP port of the host's 127.0.0.1 as host.micropod.internal:PORT; no other host service is reachable (repeatable).")
  List<Integer> exposeHostPorts = new ArrayList<>();

  @Option(names = "--egress-allow", paramLabel = "CIDR|NAME",
      description = "Let the pod connect to this CIDR (192.0.2.0/24, 2001:db8::/32, one address) or DNS name (example.org, *.example.org); with --egress-deny-all only these are reached (repeatable).")
  List<String> egressAllow = new ArrayList<>();

  @Option(names = "--egress-deny", paramLabel = "CIDR|NAME",
      description = "Refuse the pod's connections to this CIDR, and DNS answers for this name (repeatable); the most specific rule wins.")
  List<String> egressDeny = new ArrayList<>();

  @Option(names = "--egress-deny-all",
      description = "Refuse every outbound connection no --egress-allow names (the host's own services stay refused either way).")
  boolean egressDenyAll;

  @Option(names = {"-v", "--volume"}, paramLabel = "HOST_DIR:CONTAINER_DIR[:ro|:rw]",
      description = "Mount a host directory into the container over virtio-fs (qemu driver); :ro makes it read-only, :rw (the default) writable (repeatable).")
  List<String> volumes = new ArrayList<>();

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

  @Option(names = "--entrypoint", paramLabel = "CMD",
      description = "Overwrite the image's entrypoint; the image's command is dropped too (CMD after the image gives its arguments).")
  String entrypoint;

  @Option(names = {"-u", "--user"}, paramLabel = "name|uid[:group|gid]", description = "The user the container runs as.")
  String user;

  @Option(names = "--hostname", paramLabel = "NAME", description = "The container's host name; default: the pod id.")
  String hostname;

  @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "Set a label on the pod (repeatable).")
  List<String> labels = new ArrayList<>();

  @Option(names = "--env-file", paramLabel = "FILE",
      description = "Read environment variables from a file: KEY=VALUE or KEY per line, # comments; --env wins (repeatable).")
  List<Path> envFiles = new ArrayList<>();

  @Option(names = "--security-opt", paramLabel = "OPT",
      description = "seccomp=unconfined: run without the default seccomp profile (Docker's flag; seccomp=builtin is the default) (repeatable).")
  List<String> securityOpts = new ArrayList<>();

  @Option(names = "--network", paramLabel = "NAME",
      description = "Join a network made with `micropod network create NAME` (repeatable; -d pods stay on it while they run); "
          + "none: only loopback; bridge or default: the NAT to the outside, which pods have anyway.")
  List<String> networks = new ArrayList<>();

  @Option(names = "--network-alias", paramLabel = "ALIAS",
      description = "A name the other pods of the --network reach this one by (repeatable).")
  List<String> networkAliases = new ArrayList<>();

  @Mixin
  RegistryOptions registry;

  @Mixin
  SupervisionOptions supervision = new SupervisionOptions();

  @Option(names = "--snapshottable",
      description = "Boot the pod so that `micropod snapshot create` can snapshot it (QEMU; the image as a read-only block device; no -v, no --network).")
  boolean snapshottable;

  @Option(names = "--from-snapshot", paramLabel = "NAME",
      description = "Restore the pod from this snapshot (micropod snapshot ls) instead of booting an IMAGE; takes -d, --name, -p, --hostname.")
  String fromSnapshot;

  @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE",
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
      if (detach) {
        return runDetached(spec, progress, main.spec.commandLine().getOut());
      }
      return runInForeground(spec, Duration.ofSeconds(stopTimeout), progress,
          main.spec.commandLine().getOut(), main.spec.commandLine().getErr());
    }
  }

  /**
   * The spec the options describe, with a runtime of its own (the caller closes it).
   *
   * @throws IllegalArgumentException naming a bad option value
   */
  MicroPodSpec spec() {
    if (fromSnapshot != null) {
      return restoreSpec();
    }
    if (image == null) {
      throw new IllegalArgumentException("Missing required parameter: 'IMAGE' (see 'micropod run --help'), or --from-snapshot NAME");
    }
    MicroPodSpec.Builder b = MicroPod.builder()
        .image(parseImage(image))
        .command(command)
        .env(env(envFileLines(envFiles), main.env))
        .env(env(env, main.env))
        .memoryMib(memoryMib(memory))
        .pullPolicy(pullPolicy(pull))
        .detached(detach)
        .snapshottable(snapshottable)
        .stdinOpen(interactive);
    if (tty) {
      b.tty(HostTerminal.size().orElse(io.micropod.TerminalSize.DEFAULT));
    }
    if (name != null) {
      b.name(name);
    }
    for (String p : publish) {
      b.port(port(p));
    }
    for (String v : volumes) {
      b.mount(volume(v));
    }
    b.exposeHostPorts(exposeHostPorts.stream().mapToInt(Integer::intValue).toArray());
    for (String rule : egressAllow) {
      b.egressAllow(egressRule("--egress-allow", rule));
    }
    for (String rule : egressDeny) {
      b.egressDeny(egressRule("--egress-deny", rule));
    }
    if (egressDenyAll) {
      b.egressDefault(io.micropod.EgressPolicy.Action.DENY);
    }
    if (cpus < 1) {
      throw new IllegalArgumentException("--cpus must be at least 1: " + cpus);
    }
    b.cpus(cpus);
    if (stopTimeout < 0) {
      throw new IllegalArgumentException("--stop-timeout must be 0 or more seconds: " + stopTimeout);
    }
    if (entrypoint != null) {
      if (entrypoint.isEmpty()) {
        throw new IllegalArgumentException("--entrypoint must name an executable");
      }
      b.entrypoint(entrypoint);
    }
    if (user != null) {
      b.user(user);
    }
    if (hostname != null) {
      b.hostname(hostname);
    }
    for (String label : labels) {
      int eq = label.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("invalid --label \"" + label + "\": use KEY=VALUE with a non-empty KEY");
      }
      b.label(label.substring(0, eq), label.substring(eq + 1));
    }
    for (String opt : securityOpts) {
      b.seccomp(securityOpt(opt));
    }
    if (workdir != null) {
      if (!workdir.startsWith("/")) {
        throw new IllegalArgumentException("--workdir must be an absolute path: " + workdir);
      }
      b.workingDir(workdir);
    }
    supervision.apply(b);
    List<String> joining = networks(b);
    io.micropod.MicroPodRuntime runtime = registry.runtime(main.env);
    try {
      for (String n : joining) {
        b.network(network(runtime, n));
      }
      return b.runtime(runtime).build();
    } catch (IllegalStateException e) {
      runtime.close();
      if (snapshottable) { // what --snapshottable cannot be combined with, said by build()
        throw new IllegalArgumentException("--snapshottable: " + e.getMessage(), e);
      }
      throw e;
    } catch (RuntimeException e) {
      runtime.close();
      throw e;
    }
  }

  /** {@code rule} checked as the SDK does, the message naming the option. */
  private static String egressRule(String option, String rule) {
    try {
      return io.micropod.EgressPolicy.normalize(rule);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
    }
  }

  /** The spec of {@code --from-snapshot}: the snapshot's image, memory and cpus; name, ports, hostname, -d. */
  private MicroPodSpec restoreSpec() {
    if (image != null) {
      throw new IllegalArgumentException("--from-snapshot takes no IMAGE or CMD (the snapshot's container"
          + " goes on): drop \"" + image + "\"");
    }
    io.micropod.MicroPodRuntime runtime = registry.runtime(main.env);
    try {
      io.micropod.PodSnapshot snapshot = runtime.snapshot(fromSnapshot).orElseThrow(() ->
          new IllegalArgumentException("no snapshot named " + fromSnapshot + ": see `micropod snapshot ls`"));
      MicroPodSpec.Builder b = MicroPod.builder().fromSnapshot(snapshot).detached(detach);
      if (name != null) {
        b.name(name);
      }
      for (String p : publish) {
        b.port(port(p));
      }
      if (hostname != null) {
        b.hostname(hostname);
      }
      return b.runtime(runtime).build();
    } catch (RuntimeException e) {
      runtime.close();
      throw e;
    }
  }

  /**
   * Applies Docker's built-in {@code --network} values to {@code b} ({@code none}: only loopback;
   * {@code bridge}, {@code default}: the NAT, MicroPod's default) and the aliases, and returns the
   * networks to join ({@code -d} included: the network's holder keeps a detached pod on it while
   * its VM runs).
   *
   * @throws IllegalArgumentException naming the option that cannot be honoured
   */
  List<String> networks(MicroPodSpec.Builder b) {
    List<String> joining = new ArrayList<>();
    boolean none = false;
    for (String n : networks) {
      switch (n) {
        case "none" -> none = true;
        case "bridge", "default" -> { } // MicroPod's NAT, every pod's unless none
        case "host" -> throw new IllegalArgumentException("--network host is not supported: a pod is a VM with"
            + " its own network stack; publish its ports with -p, or let it reach a host port with --expose-host-port");
        default -> {
          if (n.startsWith("container:")) {
            throw new IllegalArgumentException("--network " + n + " is not supported: each pod has its own VM;"
                + " put both on a network (micropod network create NAME, then --network NAME)");
          }
          joining.add(n);
        }
      }
    }
    if (none && networks.size() > 1) {
      throw new IllegalArgumentException("--network none (only loopback) cannot be combined with other"
          + " networks: " + networks);
    }
    if (!networkAliases.isEmpty() && joining.isEmpty()) {
      throw new IllegalArgumentException("--network-alias " + String.join(", ", networkAliases)
          + " needs a network made with `micropod network create`: add --network NAME");
    }
    if (none) {
      b.networkMode(io.micropod.NetworkMode.NONE);
    }
    for (String alias : networkAliases) {
      try {
        b.networkAliases(alias);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("invalid --network-alias \"" + alias + "\": " + e.getMessage(), e);
      }
    }
    return joining;
  }

  /**
   * A handle to network {@code name} of another process (normally the holder that
   * {@code micropod network create} started); the runtime's close closes it.
   *
   * @throws IllegalArgumentException when no live process holds it, in Docker's words
   */
  static io.micropod.Network network(io.micropod.MicroPodRuntime runtime, String name) {
    if (NetworkCommand.find(runtime.networks(), name).isEmpty()) {
      throw new IllegalArgumentException(NetworkCommand.notFound(name));
    }
    return runtime.network(name);
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

  /**
   * Docker's {@code --security-opt} as far as MicroPod has it: {@code seccomp=unconfined} and
   * {@code seccomp=builtin} (the default profile). Docker's other options (a profile file,
   * apparmor, labels, no-new-privileges) are refused rather than silently ignored.
   *
   * @throws IllegalArgumentException naming the value and what is accepted
   */
  static io.micropod.SeccompProfile securityOpt(String value) {
    String v = value.replace(':', '=');
    if (v.equals("seccomp=unconfined")) {
      return io.micropod.SeccompProfile.UNCONFINED;
    }
    if (v.equals("seccomp=builtin")) {
      return io.micropod.SeccompProfile.DEFAULT;
    }
    throw new IllegalArgumentException("unsupported --security-opt \"" + value
        + "\": use seccomp=unconfined (or seccomp=builtin, the default profile)");
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
  /**
   * {@code HOST_DIR:CONTAINER_DIR[:ro|:rw]} as a {@link io.micropod.Mount}; a relative host
   * directory is resolved against the working directory.
   *
   * @throws IllegalArgumentException naming the value and the form
   */
  static io.micropod.Mount volume(String value) {
    String v = value;
    boolean readOnly = false;
    if (v.endsWith(":ro") || v.endsWith(":rw")) {
      readOnly = v.endsWith(":ro");
      v = v.substring(0, v.length() - 3);
    }
    int colon = v.lastIndexOf(':');
    if (colon <= 0 || colon == v.length() - 1) {
      throw new IllegalArgumentException("invalid --volume \"" + value
          + "\": use HOST_DIR:CONTAINER_DIR[:ro|:rw], e.g. ./site:/www:ro");
    }
    java.nio.file.Path host = java.nio.file.Path.of(v.substring(0, colon));
    String container = v.substring(colon + 1);
    try {
      return readOnly ? io.micropod.Mount.readOnly(host, container) : io.micropod.Mount.readWrite(host, container);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid --volume \"" + value + "\": " + e.getMessage(), e);
    }
  }

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

  /**
   * The variables of Docker's env files, in order: {@code KEY=VALUE} or {@code KEY} per line, lines
   * starting with {@code #} and blank lines skipped, nothing unquoted or trimmed in values.
   */
  static List<String> envFileLines(List<Path> files) {
    List<String> pairs = new ArrayList<>();
    for (Path f : files) {
      List<String> lines;
      try {
        lines = Files.readAllLines(f);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read --env-file " + f + ": " + e.getMessage());
      }
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        if (line.isBlank() || line.stripLeading().startsWith("#")) {
          continue;
        }
        if (line.stripLeading().startsWith("=")) {
          throw new IllegalArgumentException("invalid --env-file " + f + " line " + (i + 1) + ": no variable name");
        }
        pairs.add(line.stripLeading());
      }
    }
    return pairs;
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
   * Starts a detached pod, prints its id on {@code out} and returns 0 without closing it: the pod
   * (VM and virtiofsd in their own session) keeps running after this JVM exits, for
   * {@code micropod logs/exec/stop} of later processes. The runtime is not closed either: the CLI
   * exits right after.
   */
  static int runDetached(MicroPodSpec spec, PullProgress progress, PrintWriter out) {
    MicroPod pod;
    try {
      pod = MicroPod.start(spec);
    } catch (RuntimeException e) {
      spec.runtime().close();
      throw e;
    } finally {
      progress.close();
    }
    out.println(pod.id());
    out.flush();
    return 0;
  }

  /**
   * Starts the pod, prints its published ports on {@code err}, copies its stdout to {@code out} and
   * its stderr to {@code err} as they come, and returns its exit status. SIGINT (Ctrl-C) or SIGTERM
   * stops the container ({@code stopTimeout} between SIGTERM and SIGKILL), prints what it wrote
   * meanwhile, closes the pod and returns {@value ExitCodes#INTERRUPTED}; a second one exits at
   * once (the SDK's shutdown hook kills the VM). Closes the spec's runtime after the pod.
   *
   * <p>Signals are handled here rather than in a shutdown hook: during JVM shutdown the SDK's own
   * hook kills every pod at once, concurrently with any other hook, so a graceful stop has to
   * happen before shutdown begins.
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
    try (Signals signals = new Signals(pod, stopTimeout, err)) {
      for (PortMapping p : spec.ports()) {
        err.println(p.containerPort() + "/tcp -> " + pod.host() + ":" + pod.mappedPort(p.containerPort()));
      }
      err.flush();
      if (spec.tty().isPresent()) {
        return onTerminal(pod, spec, signals, out);
      }
      if (spec.stdinOpen()) {
        ProcessRelay.pumpStdin(pod.attach(), System.in);
      }
      try (MicroPod.LogFollower follower = pod.followLogs(line -> {
        PrintWriter to = line.stream() == LogLine.Stream.STDOUT ? out : err;
        to.println(line.text());
        to.flush();
      })) {
        int exit = pod.waitFor();
        follower.awaitEnd(LOG_DRAIN);
        return signals.received() ? ExitCodes.INTERRUPTED : exit;
      }
    } finally {
      pod.close();
      spec.runtime().close();
    }
  }

  /**
   * {@code -t}: the terminal's output as it comes (stdout and stderr merged by the container's
   * terminal); with {@code -i} this terminal in raw mode (every key, Ctrl-C included, goes to the
   * container), its keys to the container and its size followed. Returns the exit status.
   */
  private static int onTerminal(MicroPod pod, MicroPodSpec spec, Signals signals, PrintWriter out) {
    io.micropod.ExecProcess main = pod.attach();
    java.util.Optional<HostTerminal> raw = spec.stdinOpen() ? HostTerminal.raw() : java.util.Optional.empty();
    try {
      ProcessRelay.pumpStdin(main, spec.stdinOpen() ? System.in : null);
      if (raw.isPresent()) {
        ProcessRelay.followResizes(main, spec.tty().orElseThrow());
      }
      ProcessRelay.copyOutput(main, out);
      int exit = pod.waitFor();
      return signals.received() ? ExitCodes.INTERRUPTED : exit;
    } finally {
      raw.ifPresent(HostTerminal::close);
    }
  }

  /**
   * SIGINT and SIGTERM handlers for the life of a foreground pod: the first stops the container
   * on a thread of its own (the handler must return at once), the second exits the JVM.
   * {@link #close()} puts the previous handlers back.
   */
  @SuppressWarnings("restriction")
  static final class Signals implements AutoCloseable {
    private final MicroPod pod;
    private final Duration stopTimeout;
    private final PrintWriter err;
    private final AtomicInteger count = new AtomicInteger();
    private final java.util.Map<sun.misc.Signal, sun.misc.SignalHandler> previous = new java.util.LinkedHashMap<>();

    Signals(MicroPod pod, Duration stopTimeout, PrintWriter err) {
      this.pod = pod;
      this.stopTimeout = stopTimeout;
      this.err = err;
      for (String name : new String[] {"INT", "TERM"}) {
        sun.misc.Signal signal = new sun.misc.Signal(name);
        previous.put(signal, sun.misc.Signal.handle(signal, this::handle));
      }
    }

    private void handle(sun.misc.Signal signal) {
      if (count.incrementAndGet() > 1) {
        err.println("micropod: killing pod " + pod.id());
        err.flush();
        System.exit(ExitCodes.INTERRUPTED);
        return;
      }
      err.println("micropod: stopping pod " + pod.id() + " (SIGTERM, SIGKILL after "
          + stopTimeout.toSeconds() + " s; Ctrl-C again to kill it now)");
      err.flush();
      Thread stopper = new Thread(() -> {
        try {
          pod.stop(stopTimeout);
        } catch (RuntimeException e) {
          err.println("micropod: " + e.getMessage());  // e.g. it exited meanwhile: waitFor returns
          err.flush();
        }
      }, "micropod-cli-stop");
      stopper.setDaemon(true);
      stopper.start();
    }

    /** Whether a signal came. */
    boolean received() {
      return count.get() > 0;
    }

    @Override
    public void close() {
      previous.forEach(sun.misc.Signal::handle);
    }
  }
}
