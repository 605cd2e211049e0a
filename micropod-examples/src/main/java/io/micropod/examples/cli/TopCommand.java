package io.micropod.examples.cli;

import io.micropod.ExecResult;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod top ID|NAME [PS_OPTIONS...]}: the processes of a pod's container, as
 * {@code docker top}: runs {@code ps} (default {@code ps -ef}) in the container and prints what it
 * prints. Unlike Docker, whose daemon runs the host's {@code ps}, the image must have one (busybox
 * and procps do); without it the command says so. The pod keeps running (see {@link Pods}).
 */
@Command(name = "top", description = "Show the processes of a pod: runs ps in its container (options after the pod go to ps; default -ef).")
final class TopCommand implements Callable<Integer> {
  /** What the guest agent's exec returns when the executable is not in the container (the shells' 127). */
  static final int NOT_FOUND = 127;

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Parameters(index = "1..*", paramLabel = "PS_OPTIONS", description = "Options of ps; default -ef.")
  List<String> psOptions = new ArrayList<>();

  /** The command run in the container. */
  List<String> argv() {
    List<String> argv = new ArrayList<>(List.of("ps"));
    argv.addAll(psOptions.isEmpty() ? List.of("-ef") : psOptions);
    return argv;
  }

  @Override
  public Integer call() {
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    // not closed: closing would stop the pod; the JVM's exit lets go of it (see Pods)
    ExecResult r = Pods.attachRunning(Pods.runtime(main.env), pod).exec(argv());
    if (r.exitCode() == NOT_FOUND) {
      err.println("micropod: " + noPs(pod));
      err.flush();
      return ExitCodes.FAILURE;
    }
    out.print(r.stdout());
    out.flush();
    err.print(r.stderr());
    err.flush();
    return r.exitCode();
  }

  /** Why top printed nothing for an image without {@code ps}, and what to do instead. */
  static String noPs(String pod) {
    return "cannot list the processes of pod " + pod + ": its image has no ps on the PATH (top runs ps in the"
        + " container); add busybox or procps to the image, or read /proc: micropod exec " + pod
        + " cat /proc/1/cmdline";
  }
}
