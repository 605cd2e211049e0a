package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.Network;
import io.micropod.NetworkInfo;
import io.micropod.PodInfo;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod network create|ls|rm|inspect}: the SDK's pod networks ({@link Network}) for
 * processes that come and go.
 *
 * <p>{@code create} asks the SDK for a network held by a holder process of its own
 * ({@link MicroPodRuntime#createHeldNetwork}): it outlives the command, until {@code network rm}
 * ({@link MicroPodRuntime#removeNetwork}) ends it. No daemon: one small JVM per network, started
 * and ended by the user's own commands. Foreground and detached pods ({@code run -d --network})
 * join it; a detached pod stays on it while its VM runs.
 */
@Command(name = "network", description = "Manage pod networks (create, ls, rm, inspect).",
    subcommands = {NetworkCommand.Create.class, NetworkCommand.Ls.class, NetworkCommand.Rm.class,
        NetworkCommand.Inspect.class})
final class NetworkCommand implements Callable<Integer> {
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
    public Integer call() {
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
        try {
          runtime.createHeldNetwork(name);
        } catch (io.micropod.NetworkException e) {
          err.println("micropod: " + e.getMessage());
          err.flush();
          return ExitCodes.FAILURE;
        }
        parent.out().println(name);
        parent.out().flush();
        return 0;
      }
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
    public Integer call() {
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
    static String remove(MicroPodRuntime runtime, String name) {
      try {
        runtime.removeNetwork(name);
        return null;
      } catch (io.micropod.NetworkException e) {
        return e.getMessage();
      }
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
