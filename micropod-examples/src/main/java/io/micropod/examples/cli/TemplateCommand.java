package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodTemplate;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod template ls|rm|prune}: the warm-start templates of the home
 * ({@code <home>/templates/}, one per pod configuration, docs/snapshots.md). Removing one frees its
 * disk; the next warm start of its configuration boots cold and makes it again.
 */
@Command(name = "template", description = "Manage warm-start templates (ls, rm, prune).",
    subcommands = {TemplateCommand.Ls.class, TemplateCommand.Rm.class, TemplateCommand.Prune.class})
final class TemplateCommand implements Callable<Integer> {
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

  @Command(name = "ls", description = "List the warm-start templates, oldest first, with what each is for and its size on disk.")
  static final class Ls implements Callable<Integer> {
    @ParentCommand
    TemplateCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", description = "json: a JSON array instead of the table.")
    String format;

    @Override
    public Integer call() {
      InspectCommand.checkJsonFormat(format);
      PrintWriter out = parent.main.spec.commandLine().getOut();
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        List<PodTemplate> templates = runtime.templates();
        out.print(format == null ? table(templates, Instant.now())
            : InspectCommand.write(templates.stream().map(TemplateCommand::tree).toList(), "") + "\n");
        out.flush();
      }
      return 0;
    }
  }

  /** The table of {@code ls}: an unreadable template shows its problem in place of its image. */
  static String table(List<PodTemplate> templates, Instant now) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ID", "IMAGE", "MEMORY", "CPUS", "NETWORK", "DRIVER", "SIZE", "CREATED", "LAST USED"});
    for (PodTemplate t : templates) {
      rows.add(new String[] {t.id(), t.problem().map(p -> "(broken: " + p + ")").orElse(t.image()),
          t.memoryMib() + " MiB", String.valueOf(t.cpus()), t.networkMode().map(TemplateCommand::mode).orElse("-"),
          t.vmm().isEmpty() ? "-" : t.vmm(), Units.bytes(t.sizeBytes()), Units.ago(t.createdAt(), now),
          t.lastUsedAt().map(u -> Units.ago(u, now)).orElse("never")});
    }
    return Table.format(rows);
  }

  /** One template in {@code ls --format json}, in Docker's casing; sizes in bytes, times ISO-8601. */
  static Map<String, Object> tree(PodTemplate t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ID", t.id());
    m.put("Image", t.image());
    m.put("ImageDigest", t.imageDigest().orElse(null));
    m.put("MemoryMiB", t.memoryMib());
    m.put("Cpus", t.cpus());
    m.put("NetworkMode", t.networkMode().map(TemplateCommand::mode).orElse(null));
    m.put("Driver", t.vmm());
    m.put("SdkVersion", t.sdkVersion());
    m.put("GuestVersion", t.guestVersion());
    m.put("Size", t.sizeBytes());
    m.put("CreatedAt", t.createdAt().toString());
    m.put("LastUsedAt", t.lastUsedAt().map(Instant::toString).orElse(null));
    m.put("Problem", t.problem().orElse(null));
    m.put("Path", t.path().toString());
    return m;
  }

  private static String mode(io.micropod.NetworkMode mode) {
    return mode.name().toLowerCase(java.util.Locale.ROOT);
  }

  @Command(name = "rm", description = "Remove templates by ID; a pod starting from one meanwhile starts all the same.")
  static final class Rm implements Callable<Integer> {
    @ParentCommand
    TemplateCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "ID", description = "A template's ID (32 hex digits) as `micropod template ls` lists it.")
    List<String> ids = new ArrayList<>();

    @Override
    public Integer call() {
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        return SnapshotCommand.removeEach(ids, runtime::removeTemplate,
            id -> "no template with ID " + id + ": see `micropod template ls`", parent.main.spec.commandLine());
      }
    }
  }

  @Command(name = "prune", description = "Remove every template (warm starts make them again); prints what it freed.")
  static final class Prune implements Callable<Integer> {
    @ParentCommand
    TemplateCommand parent;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Override
    public Integer call() {
      PrintWriter out = parent.main.spec.commandLine().getOut();
      try (MicroPodRuntime runtime = Pods.runtime(parent.main.env)) {
        out.print(pruned(runtime.pruneTemplates()));
        out.flush();
      }
      return 0;
    }
  }

  /** What {@code prune} prints, as {@code docker image prune} says it: the IDs removed, then the bytes freed. */
  static String pruned(List<PodTemplate> removed) {
    StringBuilder b = new StringBuilder();
    long freed = 0;
    if (!removed.isEmpty()) {
      b.append("Deleted Templates:\n");
      for (PodTemplate t : removed) {
        b.append(t.id()).append('\n');
        freed += t.sizeBytes();
      }
      b.append('\n');
    }
    return b.append("Total reclaimed space: ").append(Units.bytes(freed)).append('\n').toString();
  }
}
