package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod inspect ID|NAME...}: a JSON array with one object per pod, in Docker's shape
 * where the field exists there ({@code Id}, {@code Name}, {@code Created}, {@code State},
 * {@code Config.Image}, {@code NetworkSettings.Ports}) plus MicroPod's ({@code Driver},
 * {@code Detached}, {@code OwnerPid}, {@code VmmPid}). Read from the pod records: it works for
 * every live pod, held by another process or not, without attaching.
 */
@Command(name = "inspect", description = "Show pods' details as JSON.")
final class InspectCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    List<PodInfo> all;
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      all = runtime.list();
    }
    List<String> objects = new ArrayList<>();
    int code = 0;
    PrintWriter err = main.spec.commandLine().getErr();
    for (String p : pods) {
      Optional<PodInfo> info = Pods.find(all, p);
      if (info.isEmpty()) {
        err.println("micropod: no such pod: " + p);
        code = ExitCodes.NO_SUCH_POD;
        continue;
      }
      objects.add(json(info.get()));
    }
    PrintWriter out = main.spec.commandLine().getOut();
    out.println(objects.isEmpty() ? "[]" : "[\n" + String.join(",\n", objects) + "\n]");
    out.flush();
    err.flush();
    return code;
  }

  /** One pod, indented two spaces as {@code docker inspect} prints. */
  static String json(PodInfo p) {
    StringBuilder ports = new StringBuilder();
    for (Map.Entry<Integer, Integer> e : new TreeMap<>(p.ports()).entrySet()) {
      ports.append(ports.length() == 0 ? "" : ",").append("\n        ").append(str(e.getKey() + "/tcp"))
          .append(": [{\"HostIp\": \"127.0.0.1\", \"HostPort\": ").append(str(e.getValue().toString())).append("}]");
    }
    String status = p.status().name().toLowerCase(java.util.Locale.ROOT);
    return "  {\n"
        + "    \"Id\": " + str(p.id()) + ",\n"
        + "    \"Name\": " + p.name().map(InspectCommand::str).orElse("null") + ",\n"
        + "    \"Created\": " + str(p.createdAt().toString()) + ",\n"
        + "    \"State\": {\n"
        + "      \"Status\": " + str(status) + ",\n"
        + "      \"Running\": " + (p.status() == PodInfo.Status.RUNNING) + ",\n"
        + "      \"StartedAt\": " + p.startedAt().map(t -> str(t.toString())).orElse("null") + ",\n"
        + "      \"RestartCount\": " + p.restartCount() + ",\n"
        + "      \"ExitCode\": " + (p.lastExitCode().isPresent() ? Integer.toString(p.lastExitCode().getAsInt()) : "null") + ",\n"
        + "      \"Health\": " + p.health().map(h -> "{\"Status\": " + str(h.status().label())
            + ", \"FailingStreak\": " + h.failingStreak() + "}").orElse("null") + ",\n"
        + "      \"EndReason\": " + p.endReason().map(InspectCommand::str).orElse("null") + "\n"
        + "    },\n"
        + "    \"Config\": {\"Image\": " + str(p.image()) + "},\n"
        + "    \"NetworkSettings\": {\"Ports\": {" + ports + (ports.length() == 0 ? "" : "\n      ") + "}},\n"
        + "    \"Driver\": " + str(p.driver()) + ",\n"
        + "    \"Detached\": " + p.detached() + ",\n"
        + "    \"OwnerPid\": " + p.ownerPid() + ",\n"
        + "    \"VmmPid\": " + (p.vmmPid().isPresent() ? Long.toString(p.vmmPid().getAsLong()) : "null") + "\n"
        + "  }";
  }

  /** A JSON string literal. */
  static String str(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
