package io.micropod.examples.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod stop [-t SECONDS] ID|NAME...}: for each pod, attaches, stops its container as
 * {@code docker stop} does (SIGTERM, SIGKILL after {@code -t}) and closes it, which removes the
 * VM, virtiofsd, sockets, directories and record. Prints each pod as given once it is gone; a pod
 * that cannot be stopped gets one line on stderr, and the others are still stopped.
 */
@Command(name = "stop", description = "Stop pods and remove them.")
final class StopCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Mixin
  StopTimeout timeout = new StopTimeout();

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    Duration grace = timeout.duration();
    return Pods.each(main, pods, Pods.closing(pod -> pod.stop(grace)));
  }
}
