package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import io.micropod.PodNotFoundException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod port ID|NAME [PORT[/tcp]]}: the pod's published ports, as {@code docker port}:
 * every mapping as {@code 80/tcp -> 127.0.0.1:32768}, or the host address of one container port.
 * Read from the pod's record: the pod is not attached.
 */
@Command(name = "port", description = "List a pod's published ports, or the host address of one.")
final class PortCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Parameters(index = "1", arity = "0..1", paramLabel = "PORT[/tcp]")
  String port;

  @Override
  public Integer call() {
    Integer wanted = port == null ? null : containerPort(port);
    PrintWriter out = main.spec.commandLine().getOut();
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      PodInfo info = Pods.find(runtime.list(), pod).orElseThrow(() -> new PodNotFoundException(pod,
          "no such pod: " + pod + " (`micropod list` shows the pods)"));
      Map<Integer, Integer> ports = new TreeMap<>(info.ports());
      if (wanted == null) {
        ports.forEach((c, h) -> out.println(c + "/tcp -> " + Pods.PUBLISHED_ADDRESS + ":" + h));
      } else if (ports.containsKey(wanted)) {
        out.println(Pods.PUBLISHED_ADDRESS + ":" + ports.get(wanted));
      } else {
        PrintWriter err = main.spec.commandLine().getErr();
        err.println("micropod: no public port '" + wanted + "/tcp' published for " + pod
            + (ports.isEmpty() ? " (it publishes none; `micropod run -p HOST:CONTAINER` does)"
                : " (published: " + String.join(", ", ports.keySet().stream().map(c -> c + "/tcp").toList()) + ")"));
        err.flush();
        return ExitCodes.PARTIAL;
      }
    }
    out.flush();
    return 0;
  }

  private static int containerPort(String v) {
    String s = v.endsWith("/tcp") ? v.substring(0, v.length() - 4) : v;
    if (s.matches("[0-9]{1,5}")) {
      int n = Integer.parseInt(s);
      if (n >= 1 && n <= 65535) {
        return n;
      }
    }
    throw new IllegalArgumentException("invalid port \"" + v + "\": give a container port 1-65535,"
        + " optionally with /tcp (pods publish TCP ports only)");
  }
}
