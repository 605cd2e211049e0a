package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.Network;
import io.micropod.NetworkInfo;
import io.micropod.PodInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod network create|ls|rm|inspect}: the SDK's pod networks ({@link Network}) for
 * processes that come and go.
 *
 * <p>An SDK network lives exactly as long as the process that created it (its switch runs
 * there), so a {@code network create} that returned and exited would take the network with it.
 * {@code create} therefore starts a <em>holder</em>: this CLI again, {@code network serve NAME}
 * (hidden), in a session of its own, which creates the network and keeps it until
 * {@code network rm} sends it SIGTERM (its exit closes the network and removes its record). No
 * daemon: one small JVM per network, started and ended by the user's own commands.
 *
 * <p>A pod's membership of a network lasts as long as the process that started the pod (the SDK
 * detaches a process's pods when it ends), so {@code run --network} is for foreground pods;
 * {@code run -d --network} is refused (see {@link RunCommand}).
 */
@Command(name = "network", description = "Manage pod networks (create, ls, rm, inspect).",
    subcommands = {NetworkCommand.Create.class, NetworkCommand.Ls.class, NetworkCommand.Rm.class,
        NetworkCommand.Inspect.class, NetworkCommand.Serve.class})
final class NetworkCommand implements Callable<Integer> {
  /** How long {@code create} waits for its holder's network, and {@code rm} for the holder's exit. */
  static final Duration HOLDER_DEADLINE = Duration.ofSeconds(30);
  /** The holder's first JVM option, followed by the network's name: how {@code rm} knows it. */
  static final String HOLDER_MARK = "-Dmicropod.cli.network-holder=";
  /** The hidden verb the holder runs. */
  static final String SERVE = "serve";

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  PrintWriter out() {
    return main.spec.commandLine().getOut();
  }

  PrintWriter err() {
    return main.spec.commandLine().getErr();
  }

  static Optional<NetworkInfo> find(List<NetworkInfo> all, String name) {
    return all.stream().filter(n -> n.name().equals(name)).findFirst();
  }

  /** {@code network NAME not found}, as Docker says it, with what to do. */
  static String notFound(String name) {
    return "network " + name + " not found: create it with `micropod network create " + name + "`";
  }

  @Command(name = "create", description = "Create a network; it lives until `micropod network rm`.")
  static final class Create implements Callable<Integer> {
    @ParentCommand
    NetworkCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(index = "0", paramLabel = "NAME", description = "1-63 of [a-zA-Z0-9_.-], starting with a letter or digit.")
    String name;

    @Override
    public Integer call() throws IOException, InterruptedException {
      checkName(name);
      PrintWriter err = parent.err();
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        Optional<NetworkInfo> taken = find(runtime.networks(), name);
        if (taken.isPresent()) {
          err.println("micropod: network with name " + name + " already exists (held by process "
              + taken.get().ownerPid() + "): choose another name, or remove it with `micropod network rm " + name + "`");
          err.flush();
          return ExitCodes.PARTIAL;
        }
        Path log = Files.createTempFile("micropod-network-" + name + "-", ".log");
        try {
          Process holder = startHolder(name, log);
          Instant deadline = Instant.now().plus(HOLDER_DEADLINE);
          while (Instant.now().isBefore(deadline)) {
            Optional<NetworkInfo> n = find(runtime.networks(), name);
            if (n.isPresent() && n.get().ownerPid() == holder.pid()) {
              parent.out().println(name);
              parent.out().flush();
              return 0;
            }
            if (!holder.isAlive()) {
              String why = Files.readString(log, StandardCharsets.UTF_8).strip();
              err.println(why.isEmpty() ? "micropod: the process holding network " + name + " exited with status "
                  + holder.exitValue() : why.lines().reduce((a, b) -> b).orElse(why));
              err.flush();
              return holder.exitValue() == 0 ? ExitCodes.FAILURE : holder.exitValue();
            }
            Thread.sleep(100);
          }
          holder.destroyForcibly();
          err.println("micropod: network " + name + " was not created within " + HOLDER_DEADLINE.toSeconds()
              + " s (its holder, process " + holder.pid() + ", is killed); run again with MICROPOD_DEBUG=1");
          err.flush();
          return ExitCodes.FAILURE;
        } finally {
          Files.deleteIfExists(log);
        }
      }
    }

    /**
     * This CLI again ({@code network serve NAME}), with this JVM's java and class path, in a
     * session of its own ({@code setsid}) so that the terminal's Ctrl-C and hang-up do not reach
     * it; stdout discarded, stderr to {@code log} until it is ready.
     */
    static Process startHolder(String name, Path log) throws IOException {
      List<String> cmd = new ArrayList<>();
      if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
        cmd.add("/usr/bin/setsid");
      }
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add(HOLDER_MARK + name); // first: /proc/PID/cmdline as Java reads it may cut a long class path
      cmd.add("-Xmx128m"); // the switch copies every frame of its pods: room for their queues
      cmd.add("-XX:+UseSerialGC");
      String home = System.getProperty("micropod.home");
      if (home != null && !home.isBlank()) {
        cmd.add("-Dmicropod.home=" + home); // the SDK's home wins over MICROPOD_HOME: share this one
      }
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(Main.class.getName());
      cmd.add("network");
      cmd.add(SERVE);
      cmd.add(name);
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      pb.redirectError(log.toFile());
      return pb.start();
    }
  }

  /** The holder: creates the network and keeps it until SIGTERM (the JVM's exit closes it). */
  @Command(name = SERVE, hidden = true, description = "Create a network and hold it until SIGTERM (run by create).")
  static final class Serve implements Callable<Integer> {
    @ParentCommand
    NetworkCommand parent;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() throws InterruptedException {
      MicroPodRuntime runtime = Pods.runtime(parent.main.env);
      // Not closed here: SIGTERM ends the JVM, whose shutdown hook closes the runtime and with it
      // the network (switch, sockets, record).
      runtime.newNetwork(name);
      new CountDownLatch(1).await();
      return 0;
    }
  }

  @Command(name = "ls", aliases = "list", description = "List the networks of every process.")
  static final class Ls implements Callable<Integer> {
    @ParentCommand
    NetworkCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Option(names = {"-q", "--quiet"}, description = "Only the network names.")
    boolean quiet;

    @Override
    public Integer call() {
      List<NetworkInfo> all;
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        all = runtime.networks();
      }
      PrintWriter out = parent.out();
      if (quiet) {
        all.forEach(n -> out.println(n.name()));
      } else {
        out.print(table(all, Instant.now()));
      }
      out.flush();
      return 0;
    }

    /**
     * NAME, DRIVER ({@code switch}: the user-space switch), SCOPE ({@code local}), SUBNET, PODS
     * (how many), OWNER (the process holding it), CREATED. Docker's NETWORK ID is left out:
     * a MicroPod network has no id besides its name.
     */
    static String table(List<NetworkInfo> networks, Instant now) {
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"NAME", "DRIVER", "SCOPE", "SUBNET", "PODS", "OWNER", "CREATED"});
      for (NetworkInfo n : networks) {
        rows.add(new String[] {n.name(), "switch", "local", n.subnet(), Integer.toString(n.members().size()),
            Long.toString(n.ownerPid()), Units.ago(n.created(), now)});
      }
      return Table.format(rows);
    }
  }

  @Command(name = "rm", aliases = "remove", description = "Remove networks that no pod is on.")
  static final class Rm implements Callable<Integer> {
    @ParentCommand
    NetworkCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "NAME")
    List<String> names = new ArrayList<>();

    @Override
    public Integer call() throws InterruptedException {
      PrintWriter err = parent.err();
      int code = 0;
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        for (String name : names) {
          String refused = remove(runtime, name);
          if (refused != null) {
            err.println("micropod: " + refused);
            code = ExitCodes.PARTIAL;
            continue;
          }
          parent.out().println(name);
          parent.out().flush();
        }
      }
      err.flush();
      return code;
    }

    /** Removes {@code name}; null when done, else why not. */
    static String remove(MicroPodRuntime runtime, String name) throws InterruptedException {
      Optional<NetworkInfo> n = find(runtime.networks(), name);
      if (n.isEmpty()) {
        return "network " + name + " not found";
      }
      if (!n.get().members().isEmpty()) {
        List<String> pods = podNames(runtime.list(), n.get().members());
        return "network " + name + " is in use by pod" + (pods.size() == 1 ? " " : "s ") + String.join(", ", pods)
            + ": stop " + (pods.size() == 1 ? "it" : "them") + " first (micropod stop " + String.join(" ", pods) + ")";
      }
      long owner = n.get().ownerPid();
      Optional<ProcessHandle> holder = ProcessHandle.of(owner);
      if (holder.isEmpty()) {
        return null; // the owner is gone: the next look removes the record (networks() above did)
      }
      if (!isHolder(holder.get(), name)) {
        return "network " + name + " belongs to process " + owner + " (an application or a `micropod run`),"
            + " not to `micropod network create`: it ends when that process closes it or exits";
      }
      holder.get().destroy();
      Instant deadline = Instant.now().plus(HOLDER_DEADLINE);
      while (Instant.now().isBefore(deadline)) {
        if (!holder.get().isAlive() && find(runtime.networks(), name).isEmpty()) {
          return null;
        }
        Thread.sleep(50);
      }
      return "network " + name + ": its holder, process " + owner + ", did not exit within "
          + HOLDER_DEADLINE.toSeconds() + " s of SIGTERM";
    }

    /** Whether {@code p} is the holder {@code create} started for {@code name} (its first JVM option says so). */
    static boolean isHolder(ProcessHandle p, String name) {
      // commandLine(), not arguments(): Java gives no arguments when it had to cut a long command line
      return p.info().commandLine().orElse("").contains(" " + HOLDER_MARK + name + " ");
    }

    /** The pods' names (their ids where they have none), in {@code ids}' order. */
    static List<String> podNames(List<PodInfo> live, List<String> ids) {
      List<String> names = new ArrayList<>();
      for (String id : ids) {
        names.add(Pods.find(live, id).flatMap(PodInfo::name).orElse(id));
      }
      return names;
    }
  }

  @Command(name = "inspect", description = "Show networks' details as JSON.")
  static final class Inspect implements Callable<Integer> {
    @ParentCommand
    NetworkCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "NAME")
    List<String> names = new ArrayList<>();

    @Override
    public Integer call() {
      List<NetworkInfo> all;
      List<PodInfo> pods;
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        all = runtime.networks();
        pods = runtime.list();
      }
      List<String> objects = new ArrayList<>();
      int code = 0;
      for (String name : names) {
        Optional<NetworkInfo> n = find(all, name);
        if (n.isEmpty()) {
          parent.err().println("micropod: network " + name + " not found");
          code = ExitCodes.PARTIAL;
          continue;
        }
        objects.add(json(n.get(), pods));
      }
      parent.out().println(objects.isEmpty() ? "[]" : "[\n" + String.join(",\n", objects) + "\n]");
      parent.out().flush();
      parent.err().flush();
      return code;
    }

    /**
     * Docker's field names where they exist ({@code Name}, {@code Created}, {@code Scope},
     * {@code Driver}, {@code IPAM.Config[].Subnet}, {@code Containers} by pod id with its
     * {@code Name}) plus {@code OwnerPid}.
     */
    static String json(NetworkInfo n, List<PodInfo> pods) {
      StringBuilder members = new StringBuilder();
      for (String id : n.members()) {
        members.append(members.length() == 0 ? "" : ",").append("\n      ").append(InspectCommand.str(id))
            .append(": {\"Name\": ").append(Pods.find(pods, id).flatMap(PodInfo::name).map(InspectCommand::str)
                .orElse("null")).append("}");
      }
      return "  {\n"
          + "    \"Name\": " + InspectCommand.str(n.name()) + ",\n"
          + "    \"Created\": " + InspectCommand.str(n.created().toString()) + ",\n"
          + "    \"Scope\": \"local\",\n"
          + "    \"Driver\": \"switch\",\n"
          + "    \"IPAM\": {\"Config\": [{\"Subnet\": " + InspectCommand.str(n.subnet()) + "}]},\n"
          + "    \"Containers\": {" + members + (members.length() == 0 ? "" : "\n    ") + "},\n"
          + "    \"OwnerPid\": " + n.ownerPid() + "\n"
          + "  }";
    }
  }

  /**
   * Docker's built-in network names mean modes here, so they cannot name a network; the SDK
   * checks the rest of the name (the holder reports its error).
   */
  static void checkName(String name) {
    if (RunCommand.DOCKER_NETWORKS.contains(name)) {
      throw new IllegalArgumentException("network name \"" + name + "\" is reserved (" + RunCommand.DOCKER_NETWORKS_MEANING
          + "): choose another name");
    }
  }
}
