package io.micropod.examples.cli;

import io.micropod.MicroPod;
import io.micropod.MicroPodRuntime;
import io.micropod.PodStats;
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
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod stats [--no-stream] [ID|NAME...]}: as {@code docker stats}, a table of the pods'
 * resource use (all live pods without arguments), redrawn every second until Ctrl-C, or printed
 * once with {@code --no-stream}. CPU % is the container's CPU time over one second of wall time
 * (100% = one vCPU busy); MEM the container's cgroup; NET I/O the pod's bytes received / sent over
 * the network (since the VM booted); BLOCK I/O its reads / writes; GUEST MEM
 * AVAIL what the VM has left. The pods keep running (handles are not closed, see {@link Pods}).
 */
@Command(name = "stats", description = "Show pods' resource use.")
final class StatsCommand implements Callable<Integer> {
  /** The interval between the two samples of a CPU %. */
  static final Duration SAMPLE = Duration.ofSeconds(1);

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--no-stream", description = "Print one table and exit.")
  boolean noStream;

  @Parameters(arity = "0..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    MicroPodRuntime runtime = Pods.runtime(main.env);
    List<String> wanted = pods.isEmpty() ? runtime.list().stream().map(i -> i.id()).toList() : pods;
    Map<String, MicroPod> attached = new LinkedHashMap<>();
    for (String p : wanted) {
      attached.put(p, Pods.attach(runtime, p)); // not closed: that would stop the pod
    }
    PrintWriter out = main.spec.commandLine().getOut();
    Map<String, PodStats> before = sample(attached);
    long t0 = System.nanoTime();
    while (true) {
      LockSupport.parkNanos(SAMPLE.toNanos());
      Map<String, PodStats> now = sample(attached);
      long t1 = System.nanoTime();
      long nanos = t1 - t0;
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "GUEST MEM AVAIL"});
      attached.forEach((p, pod) -> rows.add(row(pod.id(), pod.spec().name().orElse("<none>"), before.get(p),
          now.get(p), nanos)));
      if (!noStream && main.terminal()) {
        out.print("\033[2J\033[H"); // clear the screen, as docker stats does
      }
      out.print(Table.format(rows));
      out.flush();
      if (noStream) {
        return 0;
      }
      before.putAll(now);
      t0 = t1;
    }
  }

  private static Map<String, PodStats> sample(Map<String, MicroPod> pods) {
    Map<String, PodStats> s = new LinkedHashMap<>();
    pods.forEach((p, pod) -> s.put(p, pod.stats()));
    return s;
  }

  /** One row; {@code nanos} between the samples. */
  static String[] row(String id, String name, PodStats before, PodStats now, long nanos) {
    double cpu = (now.cpuUsageMicros() - before.cpuUsageMicros()) * 1000.0 / Math.max(1, nanos) * 100;
    String limit = now.memoryLimitBytes() > 0 ? Units.bytes(now.memoryLimitBytes()) : "--";
    String memPct = now.memoryLimitBytes() > 0
        ? String.format(java.util.Locale.ROOT, "%.2f%%", now.memoryUsageBytes() * 100.0 / now.memoryLimitBytes()) : "--";
    return new String[] {id, name, String.format(java.util.Locale.ROOT, "%.2f%%", Math.max(0, cpu)),
        Units.bytes(now.memoryUsageBytes()) + " / " + limit, memPct,
        Units.bytes(now.netRxBytes()) + " / " + Units.bytes(now.netTxBytes()),
        Units.bytes(now.ioReadBytes()) + " / " + Units.bytes(now.ioWriteBytes()),
        Units.bytes(now.vmMemoryAvailableBytes())};
  }
}
