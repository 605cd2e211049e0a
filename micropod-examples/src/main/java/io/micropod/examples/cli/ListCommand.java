package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod list} (aka {@code ps}): the live pods of every process, oldest first, as a table
 * (ID, NAME, IMAGE, STATUS, CREATED, PORTS), or their ids only with {@code -q}.
 */
@Command(name = "list", aliases = "ps", description = "List the live pods of every process.")
final class ListCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-a", "--all"}, description = "Accepted for Docker's habit; pods are listed while they live.")
  boolean all;

  @Option(names = {"-q", "--quiet"}, description = "Only the pod ids.")
  boolean quiet;

  @Override
  public Integer call() {
    List<PodInfo> pods;
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      pods = runtime.list();
    }
    PrintWriter out = main.spec.commandLine().getOut();
    if (quiet) {
      pods.forEach(p -> out.println(p.id()));
    } else {
      out.print(table(pods, Instant.now()));
    }
    out.flush();
    return 0;
  }

  /**
   * The table: ID, NAME ({@code <none>} without one), IMAGE, STATUS (lower case), CREATED (an age),
   * PORTS (Docker's {@code 127.0.0.1:28080->80/tcp}, comma-separated, by container port).
   */
  static String table(List<PodInfo> pods, Instant now) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ID", "NAME", "IMAGE", "STATUS", "CREATED", "PORTS"});
    for (PodInfo p : pods) {
      rows.add(new String[] {p.id(), p.name().orElse("<none>"), p.image(),
          p.status().name().toLowerCase(java.util.Locale.ROOT), Units.ago(p.createdAt(), now), ports(p)});
    }
    return Table.format(rows);
  }

  static String ports(PodInfo p) {
    return new java.util.TreeMap<>(p.ports()).entrySet().stream()
        .map(e -> "127.0.0.1:" + e.getValue() + "->" + e.getKey() + "/tcp")
        .collect(java.util.stream.Collectors.joining(", "));
  }
}
