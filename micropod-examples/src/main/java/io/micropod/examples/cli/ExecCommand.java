package io.micropod.examples.cli;

import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.ExecSpec;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodRuntime;
import io.micropod.TerminalSize;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod exec [-i] [-t] [-e K=V] [-w DIR] ID|NAME CMD...}: attaches to the pod, runs the
 * command in its container, prints its stdout and stderr, and exits with its exit code. The pod
 * keeps running: the handle is not closed (see {@link Pods}). {@code -i} streams this process's
 * stdin to the command and its stdout back as it comes; {@code -t} runs it on a pseudo-terminal
 * of this terminal's size (else 80x24), with this terminal in raw mode while it runs (when stdin
 * is one) and resized along with it.
 */
@Command(name = "exec", description = "Run a command in a running pod.")
final class ExecCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE", description = "Set an environment variable.")
  List<String> env = new ArrayList<>();

  @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "Working directory in the container.")
  String workdir;

  @Option(names = {"-i", "--interactive"}, description = "Stream stdin to the command.")
  boolean interactive;

  @Option(names = {"-t", "--tty"}, description = "Run the command on a pseudo-terminal.")
  boolean tty;

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD")
  List<String> command = new ArrayList<>();

  /** The exec the options describe. */
  ExecSpec execSpec() {
    ExecSpec.Builder b = ExecSpec.builder(command);
    for (Map.Entry<String, String> e : RunCommand.env(env, main.env).entrySet()) {
      b.env(e.getKey(), e.getValue());
    }
    if (workdir != null) {
      if (!workdir.startsWith("/")) {
        throw new IllegalArgumentException("--workdir must be an absolute path: " + workdir);
      }
      b.workingDir(workdir);
    }
    if (tty) {
      b.tty(HostTerminal.size().orElse(TerminalSize.DEFAULT));
    }
    return b.build();
  }

  @Override
  public Integer call() {
    ExecSpec spec = execSpec();
    MicroPodRuntime runtime = Pods.runtime(main.env);
    // not closed: closing would stop the pod; the JVM's exit lets go of it (see Pods)
    MicroPod attached = Pods.attachRunning(runtime, pod);
    try {
      return interactive || tty ? streaming(attached, spec) : plain(attached, spec);
    } catch (MicroPodException e) {
      // its main process exited since attachRunning looked: the agent's "not running" said as Docker says it
      Optional<String> exited = Pods.exited(runtime, pod);
      if (exited.isPresent()) {
        throw new Pods.NotRunningException(exited.get(), e);
      }
      throw e;
    }
  }

  private int plain(MicroPod attached, ExecSpec spec) {
    ExecResult r = attached.exec(spec);
    main.spec.commandLine().getOut().print(r.stdout());
    main.spec.commandLine().getOut().flush();
    main.spec.commandLine().getErr().print(r.stderr());
    main.spec.commandLine().getErr().flush();
    return r.exitCode();
  }

  /** -i and/or -t: stdout as it comes, stdin (with -i) as it is typed, resizes (with -t). */
  private int streaming(MicroPod attached, ExecSpec spec) {
    ExecProcess p = attached.execStreaming(spec);
    Optional<HostTerminal> raw = tty && interactive ? HostTerminal.raw() : Optional.empty();
    try {
      ProcessRelay.pumpStdin(p, interactive ? System.in : null);
      if (raw.isPresent()) {
        ProcessRelay.followResizes(p, spec.tty().orElseThrow());
      }
      ProcessRelay.copyOutput(p, main.spec.commandLine().getOut());
      ExecResult result = p.await();
      main.spec.commandLine().getErr().print(result.stderr());
      main.spec.commandLine().getErr().flush();
      return result.exitCode();
    } finally {
      raw.ifPresent(HostTerminal::close);
    }
  }
}
