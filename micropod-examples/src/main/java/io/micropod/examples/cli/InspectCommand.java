package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * {@code Config}, {@code HostConfig.RestartPolicy}, {@code Mounts}, {@code NetworkSettings}) plus
 * MicroPod's ({@code Driver}, {@code Detached}, {@code OwnerPid}, {@code VmmPid},
 * {@code BootTimings}); see {@link #tree}. Read from the pod records: it works for every pod,
 * exited ones included, held by another process or not, without attaching.
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

  /**
   * One pod as a JSON object, indented two spaces per level as {@code docker inspect} prints (the
   * object itself one level in, as an element of the array).
   */
  static String json(PodInfo p) {
    return "  " + write(tree(p), "  ");
  }

  /**
   * The pod in Docker's shapes where they exist ({@code State}, {@code Config}, {@code HostConfig}'s
   * {@code Memory} (bytes), {@code NanoCpus}, {@code NetworkMode} and {@code RestartPolicy}, {@code Mounts}, {@code NetworkSettings}), then MicroPod's. The spec's environment
   * is not shown: neither its values nor its names are recorded (Docker's {@code Env} shows them). Durations of {@code Healthcheck} in nanoseconds as Docker's; {@code BootTimings} in ms.
   */
  static Map<String, Object> tree(PodInfo p) {
    Map<String, Object> pod = new LinkedHashMap<>();
    pod.put("Id", p.id());
    pod.put("Name", p.name().orElse(null));
    pod.put("Created", p.createdAt().toString());
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("Status", p.status().name().toLowerCase(java.util.Locale.ROOT));
    state.put("Running", p.status() == PodInfo.Status.RUNNING);
    state.put("Paused", p.status() == PodInfo.Status.PAUSED);
    state.put("ExitCode", p.lastExitCode().isPresent() ? p.lastExitCode().getAsInt() : null);
    state.put("StartedAt", p.startedAt().map(Object::toString).orElse(null));
    state.put("FinishedAt", p.finishedAt().map(Object::toString).orElse(null));
    state.put("Health", p.health().map(h -> {
      Map<String, Object> health = new LinkedHashMap<>();
      health.put("Status", h.status().label());
      health.put("FailingStreak", h.failingStreak());
      return health;
    }).orElse(null));
    state.put("EndReason", p.endReason().orElse(null));
    pod.put("State", state);
    pod.put("RestartCount", p.restartCount());
    Optional<PodInfo.Config> spec = p.config();
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("Image", p.image());
    spec.ifPresent(c -> {
      config.put("Entrypoint", c.entrypoint().orElse(null));
      config.put("Cmd", c.command());
      config.put("User", c.user().orElse(""));
      config.put("Hostname", c.hostname().orElse(""));
      config.put("WorkingDir", c.workingDir().orElse(""));
      config.put("Labels", new TreeMap<>(c.labels()));
      config.put("Healthcheck", c.healthcheck().map(h -> {
        Map<String, Object> check = new LinkedHashMap<>();
        List<String> test = new ArrayList<>(List.of("CMD"));
        test.addAll(h.command());
        check.put("Test", test);
        check.put("Interval", h.interval().toNanos());
        check.put("Timeout", h.timeout().toNanos());
        check.put("Retries", h.retries());
        check.put("StartPeriod", h.startPeriod().toNanos());
        return check;
      }).orElse(null));
    });
    pod.put("Config", config);
    spec.ifPresent(c -> {
      Map<String, Object> restart = new LinkedHashMap<>();
      restart.put("Name", c.restart().toString().replaceFirst(":.*", ""));
      restart.put("MaximumRetryCount", c.restart().maxRetries());
      Map<String, Object> hostConfig = new LinkedHashMap<>();
      // Docker's units: bytes and billionths of a CPU; null where the record predates them
      hostConfig.put("Memory", c.memoryMib().isPresent() ? (long) c.memoryMib().getAsInt() << 20 : null);
      hostConfig.put("NanoCpus", c.cpus().isPresent() ? c.cpus().getAsInt() * 1_000_000_000L : null);
      // MicroPod's mode, not Docker's driver name: `run --network bridge` (and no --network) is "nat"
      hostConfig.put("NetworkMode", c.networkMode().name().toLowerCase(java.util.Locale.ROOT));
      hostConfig.put("RestartPolicy", restart);
      Map<String, Object> egress = new LinkedHashMap<>();
      egress.put("Default", c.egress().defaultAction().name().toLowerCase(java.util.Locale.ROOT));
      egress.put("Allow", c.egress().allowed());
      egress.put("Deny", c.egress().denied());
      hostConfig.put("Egress", egress);
      pod.put("HostConfig", hostConfig);
      List<Object> mounts = new ArrayList<>();
      for (String m : c.mounts()) {
        mounts.add(mount(m));
      }
      pod.put("Mounts", mounts);
    });
    Map<String, Object> ports = new LinkedHashMap<>();
    new TreeMap<>(p.ports()).forEach((container, host) -> {
      Map<String, Object> binding = new LinkedHashMap<>();
      binding.put("HostIp", Pods.PUBLISHED_ADDRESS);
      binding.put("HostPort", host.toString());
      ports.put(container + "/tcp", List.of(binding));
    });
    Map<String, Object> network = new LinkedHashMap<>();
    network.put("Ports", ports);
    spec.ifPresent(c -> {
      Map<String, Object> networks = new LinkedHashMap<>();
      c.networks().forEach(n -> networks.put(n, Map.of("Aliases", c.networkAliases())));
      network.put("Networks", networks);
    });
    pod.put("NetworkSettings", network);
    pod.put("Driver", p.driver());
    pod.put("Detached", p.detached());
    pod.put("OwnerPid", p.ownerPid());
    pod.put("VmmPid", p.vmmPid().isPresent() ? p.vmmPid().getAsLong() : null);
    p.bootTimings().ifPresent(t -> {
      Map<String, Object> boot = new LinkedHashMap<>();
      boot.put("ImageMs", t.image().toMillis());
      boot.put("VmBootMs", t.vmBoot().toMillis());
      boot.put("AgentReadyMs", t.agentReady().toMillis());
      boot.put("ContainerStartMs", t.containerStart().toMillis());
      boot.put("TotalMs", t.total().toMillis());
      pod.put("BootTimings", boot);
    });
    return pod;
  }

  /** A mount recorded as {@code host:container:ro|rw} in Docker's {@code Mounts} shape. */
  private static Map<String, Object> mount(String recorded) {
    int mode = recorded.lastIndexOf(':');
    int target = mode <= 0 ? -1 : recorded.lastIndexOf(':', mode - 1);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("Type", "bind");
    if (target < 0) {
      m.put("Source", recorded); // not in the recorded form: shown as it is
      return m;
    }
    boolean readOnly = recorded.substring(mode + 1).equals("ro");
    m.put("Source", recorded.substring(0, target));
    m.put("Destination", recorded.substring(target + 1, mode));
    m.put("Mode", readOnly ? "ro" : "rw");
    m.put("RW", !readOnly);
    return m;
  }

  /**
   * {@code value} (maps, lists, strings, numbers, booleans, null) as JSON; nested lines start with
   * {@code indent} plus two spaces per level. Empty maps and lists stay on one line.
   */
  /**
   * Refuses a {@code --format} other than {@code json} (the commands that take one print JSON or
   * their text; Go templates are not supported).
   *
   * @throws IllegalArgumentException naming {@code format}
   */
  static void checkJsonFormat(String format) {
    if (format != null && !format.equals("json")) {
      throw new IllegalArgumentException("invalid --format \"" + format + "\": only json is supported"
          + " (Go templates are not)");
    }
  }

  static String write(Object value, String indent) {
    if (value == null) {
      return "null";
    }
    if (value instanceof String text) {
      return str(text);
    }
    if (value instanceof Number || value instanceof Boolean) {
      return value.toString();
    }
    String inner = indent + "  ";
    StringBuilder b = new StringBuilder();
    if (value instanceof Map<?, ?> map) {
      if (map.isEmpty()) {
        return "{}";
      }
      b.append("{");
      String sep = "\n";
      for (Map.Entry<?, ?> e : map.entrySet()) {
        b.append(sep).append(inner).append(str(e.getKey().toString())).append(": ").append(write(e.getValue(), inner));
        sep = ",\n";
      }
      return b.append("\n").append(indent).append("}").toString();
    }
    if (value instanceof List<?> list) {
      if (list.isEmpty()) {
        return "[]";
      }
      b.append("[");
      String sep = "\n";
      for (Object o : list) {
        b.append(sep).append(inner).append(write(o, inner));
        sep = ",\n";
      }
      return b.append("\n").append(indent).append("]").toString();
    }
    throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
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
