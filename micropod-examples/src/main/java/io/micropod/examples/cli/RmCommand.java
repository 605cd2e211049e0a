package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod rm [-f] ID|NAME...}: as {@code docker rm}. Without {@code -f} it removes pods
 * whose main process exited ({@link PodInfo.Status#EXITED}: their VM, logs and files) and refuses
 * running ones with Docker's advice; {@code -f} kills a running pod at once (SIGKILL, as
 * {@code docker rm -f}) and removes everything.
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
    PrintWriter err = main.spec.commandLine().getErr();
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      if (force) {
        return Pods.each(main, runtime, pods, Pods.closing(pod -> pod.stop(Duration.ZERO)));
      }
      List<PodInfo> known = runtime.list();
      List<String> exited = new ArrayList<>();
      int code = 0;
      for (String p : pods) {
        Optional<PodInfo> info = Pods.find(known, p);
        if (info.isPresent() && info.get().status() == PodInfo.Status.EXITED) {
          exited.add(p);
          continue;
        }
        err.println(info.isPresent()
            ? "micropod: cannot remove pod " + p + ": it is running; stop it first (micropod stop " + p
                + ") or force the removal (micropod rm -f " + p + ")"
            : "micropod: no such pod: " + p);
        code = ExitCodes.PARTIAL;
      }
      err.flush();
      // its main process is gone: closing the attached handle removes the VM, logs and files
      int removed = Pods.each(main, runtime, exited, Pods.closing(pod -> { }));
      return code != 0 ? code : removed;
    }
  }
}
