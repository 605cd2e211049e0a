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
 * {@code micropod list} (aka {@code ps}): the pods of every process, oldest first, as a table
 * (ID, NAME, IMAGE, STATUS, CREATED, PORTS), or their ids only with {@code -q}. As {@code docker
 * ps}: pods whose main process exited ({@link PodInfo.Status#EXITED}) only with {@code -a}.
 */
@Command(name = "list", aliases = "ps", description = "List the pods of every process.")
final class ListCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-a", "--all"}, description = "Also the pods whose main process exited (until micropod rm).")
  boolean all;

  @Option(names = {"-q", "--quiet"}, description = "Only the pod ids.")
  boolean quiet;

  @Override
  public Integer call() {
    List<PodInfo> pods;
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      pods = runtime.list();
    }
    if (!all) {
      pods = pods.stream().filter(p -> p.status() != PodInfo.Status.EXITED).toList();
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
          status(p, now), Units.ago(p.createdAt(), now), ports(p)});
    }
    return Table.format(rows);
  }

  /**
   * The STATUS column: the status in lower case, then as Docker prints them the health
   * ({@code (healthy)}, {@code (unhealthy)}, {@code (health: starting)}), the restarts
   * ({@code restarted 2x, last exit 1}) and why a pod ended by itself ({@code ended: max-lifetime});
   * an exited pod as Docker prints it: {@code Exited (3) 5 minutes ago}.
   */
  static String status(PodInfo p, Instant now) {
    if (p.status() == PodInfo.Status.EXITED) {
      // Docker's words: "Exited (3) 5 minutes ago"
      return "Exited (" + p.lastExitCode().orElse(-1) + ")"
          + p.finishedAt().map(t -> " " + Units.ago(t, now)).orElse("");
    }
    StringBuilder s = new StringBuilder(p.status().name().toLowerCase(java.util.Locale.ROOT));
    p.health().ifPresent(h -> s.append(h.status() == io.micropod.HealthState.Status.STARTING
        ? " (health: starting)" : " (" + h.status().label() + ")"));
    if (p.restartCount() > 0) {
      s.append(" (restarted ").append(p.restartCount()).append('x');
      p.lastExitCode().ifPresent(c -> s.append(", last exit ").append(c));
      s.append(')');
    }
    p.endReason().ifPresent(r -> s.append(" (ended: ").append(r).append(')'));
    return s.toString();
  }

  static String ports(PodInfo p) {
    return new java.util.TreeMap<>(p.ports()).entrySet().stream()
        .map(e -> Pods.PUBLISHED_ADDRESS + ":" + e.getValue() + "->" + e.getKey() + "/tcp")
        .collect(java.util.stream.Collectors.joining(", "));
  }
}
