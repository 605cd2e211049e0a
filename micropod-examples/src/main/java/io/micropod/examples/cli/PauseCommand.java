package io.micropod.examples.cli;

import io.micropod.MicroPod;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod pause|resume ID|NAME...}: stops or restarts a pod's vCPUs (QMP), as
 * {@code docker pause} / {@code unpause}. Attaches and leaves the pod running (never closes it);
 * prints each pod as given; a pod that fails gets one line on stderr and the others are done.
 */
final class PauseCommand {
  private PauseCommand() {}

  @Command(name = "pause", description = "Pause pods: their vCPUs stop, memory and processes stay.")
  static final class Pause implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "ID|NAME")
    List<String> pods = new ArrayList<>();

    @Override
    public Integer call() {
      return Pods.each(main, pods, Pods.leavingRunning(MicroPod::pause));
    }
  }

  @Command(name = "resume", aliases = "unpause", description = "Resume paused pods.")
  static final class Resume implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "ID|NAME")
    List<String> pods = new ArrayList<>();

    @Override
    public Integer call() {
      return Pods.each(main, pods, Pods.leavingRunning(MicroPod::resume));
    }
  }
}
