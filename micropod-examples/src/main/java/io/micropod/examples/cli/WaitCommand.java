package io.micropod.examples.cli;

import io.micropod.PodInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod wait ID|NAME...}: blocks until each pod's main process exits and prints its exit
 * status, one line per pod in the order given, as {@code docker wait}. A pod whose main process
 * already exited prints the status it kept. The pods stay (remove them with {@code micropod rm}).
 */
@Command(name = "wait", description = "Block until pods' main processes exit, then print their exit statuses.")
final class WaitCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    return Pods.each(main, pods, (runtime, p) -> {
      Optional<PodInfo> exited = Pods.find(runtime.list(), p)
          .filter(i -> i.status() == PodInfo.Status.EXITED && i.lastExitCode().isPresent());
      // never closed: that would stop the pod (Pods)
      return String.valueOf(exited.isPresent() ? exited.get().lastExitCode().getAsInt()
          : Pods.attach(runtime, p).waitFor());
    });
  }
}
