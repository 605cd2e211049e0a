package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod rm [-f] ID|NAME...}: as {@code docker rm}. A pod is listed only while it runs
 * (MicroPod keeps no exited pods), so without {@code -f} a pod is refused with Docker's advice;
 * {@code -f} kills it at once (SIGKILL, as {@code docker rm -f}) and removes everything.
 */
@Command(name = "rm", description = "Remove pods (-f: kill running ones first).")
final class RmCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-f", "--force"}, description = "Kill a running pod (SIGKILL) and remove it.")
  boolean force;

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      if (force) {
        return Pods.closeEach(runtime, pods, out, err, main.debug(), pod -> pod.stop(Duration.ZERO));
      }
      List<PodInfo> live = runtime.list();
      for (String p : pods) {
        err.println(Pods.find(live, p).isPresent()
            ? "micropod: cannot remove pod " + p + ": it is running; stop it first (micropod stop " + p
                + ") or force the removal (micropod rm -f " + p + ")"
            : "micropod: no such pod: " + p);
      }
      err.flush();
      return ExitCodes.PARTIAL;
    }
  }
}
