package io.micropod.examples.cli;

import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.ExecSpec;
import io.micropod.ExecTimeoutException;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodRuntime;
import io.micropod.TerminalSize;
import java.time.Duration;
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
 * {@code micropod exec [-i] [-t] [-e K=V] [-w DIR] [--timeout DURATION] ID|NAME CMD...}: attaches to the pod, runs the
 * command in its container, prints its stdout and stderr, and exits with its exit code. The pod
 * keeps running: the handle is not closed (see {@link Pods}). {@code -i} streams this process's
 * stdin to the command and its stdout back as it comes; {@code -t} runs it on a pseudo-terminal
 * of this terminal's size (else 80x24), with this terminal in raw mode while it runs (when stdin
 * is one) and resized along with it. {@code --timeout} kills the command (and what it started in
 * its process group) when it runs longer, prints what it wrote until then and exits with 124, as
 * GNU {@code timeout(1)}.
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

  @Option(names = "--timeout", paramLabel = "DURATION",
      description = "Kill the command when it runs longer (seconds, or e.g. 30s, 5m, 1h30m) and exit with 124.")
  String timeout;

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
    if (timeout != null) {
      // plain seconds as stop -t and GNU timeout(1) take them, or a duration as --max-lifetime
      Duration d = timeout.matches("[0-9]{1,9}") ? Duration.ofSeconds(Long.parseLong(timeout))
          : SupervisionOptions.duration("--timeout", timeout);
      if (d.isZero()) {
        throw new IllegalArgumentException("--timeout must be more than 0: " + timeout);
      }
      b.timeout(d);
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
    } catch (ExecTimeoutException e) {
      return timedOut(e, !(interactive || tty));
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

  /**
   * The output the command wrote before the deadline (stdout only when it was not streamed
   * already), then one line saying so: exit status 124.
   */
  private int timedOut(ExecTimeoutException e, boolean printStdout) {
    if (printStdout) {
      main.spec.commandLine().getOut().print(e.stdout());
      main.spec.commandLine().getOut().flush();
    }
    java.io.PrintWriter err = main.spec.commandLine().getErr();
    err.print(e.stderr());
    err.println("micropod: " + String.join(" ", e.command()) + " ran past --timeout " + timeout
        + (e.killConfirmed() ? " and was killed"
            : "; the pod's agent did not confirm the kill (the command may still run; check the pod)"));
    err.flush();
    return ExitCodes.TIMED_OUT;
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
