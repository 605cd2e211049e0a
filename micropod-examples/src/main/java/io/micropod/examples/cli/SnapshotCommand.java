package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodSnapshot;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod snapshot create|ls|rm}: the snapshots of the home ({@code <home>/snapshots/},
 * docs/snapshots.md); {@code micropod run --from-snapshot NAME} starts a pod from one.
 * {@code create} snapshots a pod started {@code --snapshottable} by any process (its record holds
 * the VM configuration a snapshot needs).
 */
@Command(name = "snapshot", description = "Manage pod snapshots (create, ls, rm).",
    subcommands = {SnapshotCommand.Create.class, SnapshotCommand.Ls.class, SnapshotCommand.Rm.class})
final class SnapshotCommand implements Callable<Integer> {
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

  @Command(name = "create", description = "Snapshot a running pod started with --snapshottable; it runs on"
      + " (a paused one stays paused). Prints the snapshot's name.")
  static final class Create implements Callable<Integer> {
    @ParentCommand
    SnapshotCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(index = "0", paramLabel = "ID|NAME", description = "The pod.")
    String pod;

    @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot's name: letters, digits, '_', '.', '-'.")
    String name;

    @Override
    public Integer call() {
      PrintWriter out = parent.main.spec.commandLine().getOut();
      PrintWriter err = parent.main.spec.commandLine().getErr();
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        // not closed: closing the handle of a detached pod this process now owns would stop it
        PodSnapshot s = Pods.attach(runtime, pod).snapshot(name);
        out.println(s.name());
        out.flush();
        return 0;
      } catch (IllegalStateException e) { // not snapshottable: the message says how to start it
        err.println("micropod: " + e.getMessage());
        err.flush();
        return ExitCodes.FAILURE;
      }
    }
  }

  @Command(name = "ls", description = "List the snapshots, oldest first.")
  static final class Ls implements Callable<Integer> {
    @ParentCommand
    SnapshotCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Override
    public Integer call() {
      PrintWriter out = parent.main.spec.commandLine().getOut();
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "IMAGE", "FROM POD", "SIZE", "MEMORY", "CREATED"});
        Instant now = Instant.now();
        for (PodSnapshot s : runtime.snapshots()) {
          rows.add(new String[] {s.name(), s.image(), s.sourcePodId(), Units.bytes(s.sizeBytes()),
              s.memoryMib() + " MiB", Units.ago(s.createdAt(), now)});
        }
        out.print(Table.format(rows));
        out.flush();
      }
      return 0;
    }
  }

  @Command(name = "rm", description = "Remove snapshots; pods restored from them run on.")
  static final class Rm implements Callable<Integer> {
    @ParentCommand
    SnapshotCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "NAME")
    List<String> names = new ArrayList<>();

    @Override
    public Integer call() {
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        return removeEach(names, runtime::removeSnapshot, n -> "no snapshot named " + n + ": see `micropod snapshot ls`",
            parent.main.spec.commandLine());
      }
    }
  }

  /**
   * The {@code rm} of snapshots and templates: removes each of {@code keys}, printing each one
   * removed; one that is not there gets one line on stderr ({@code notFound}'s) and the status is
   * then {@link ExitCodes#FAILURE}, after the others are removed.
   */
  static int removeEach(List<String> keys, java.util.function.Predicate<String> remove,
      java.util.function.UnaryOperator<String> notFound, picocli.CommandLine cl) {
    PrintWriter out = cl.getOut();
    PrintWriter err = cl.getErr();
    int code = 0;
    try {
      for (String k : keys) {
        if (remove.test(k)) {
          out.println(k);
        } else {
          err.println("Error: " + notFound.apply(k));
          code = ExitCodes.FAILURE;
        }
      }
    } finally {
      out.flush();
      err.flush();
    }
    return code;
  }
}
