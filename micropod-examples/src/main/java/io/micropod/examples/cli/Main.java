package io.micropod.examples.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code micropod} command line: Docker's commands and flags, for pods in microVMs.
 *
 * <pre>
 * micropod run [--rm] [-d] [--name N] [-e K=V] [-p [HOST:]CONTAINER] [--pull POLICY] [--memory MiB] [--cpus N] IMAGE [CMD...]
 * micropod pull IMAGE | images | rmi IMAGE...
 * micropod list | ps [-q], stop [-t SECONDS] ID|NAME..., logs [-f] ID|NAME, exec ID|NAME CMD...
 * micropod kill [-s SIGNAL] ID|NAME..., wait ID|NAME..., port ID|NAME [PORT]
 * micropod network create NAME | ls | rm NAME... | inspect NAME...; run --network NAME --network-alias A
 * micropod top ID|NAME [PS_OPTIONS], restart [-t SECONDS] ID|NAME..., rename ID|NAME NEW_NAME
 * micropod template ls [--format json] | rm ID... | prune
 * micropod doctor, version [--format json], --version
 * </pre>
 *
 * Exit status: the container's own with {@code run}; {@value ExitCodes#HOST_NOT_READY} from
 * {@code doctor} when no pod can start here; {@value ExitCodes#USAGE} for a usage error
 * or a bad argument; {@value ExitCodes#NO_SUCH_POD} when no live pod has the id or name given; {@value ExitCodes#FAILURE} when MicroPod
 * could not run the pod; 130 when interrupted. Errors are one line on stderr; with
 * {@code MICROPOD_DEBUG=1}, also the stack trace, and verbose logs.
 */
@Command(name = "micropod",
    description = "Run OCI container images in microVMs.",
    usageHelpAutoWidth = true,
    subcommands = {
        RunCommand.class, ListCommand.class, StopCommand.class, LogsCommand.class,
        ExecCommand.class, RmCommand.class, InspectCommand.class, StatsCommand.class, CpCommand.class,
        NetworkCommand.class,
        PullCommand.class, ImagesCommand.class, RmiCommand.class,
        DoctorCommand.class, SnapshotCommand.class, TemplateCommand.class, PauseCommand.Pause.class, PauseCommand.Resume.class,
        KillCommand.class, WaitCommand.class, PortCommand.class, TopCommand.class, RestartCommand.class,
        RenameCommand.class,         VersionCommand.class, CommandLine.HelpCommand.class},
    versionProvider = VersionCommand.Short.class)
public final class Main implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @CommandLine.Option(names = {"-v", "--version"}, versionHelp = true, description = "Print MicroPod's version and exit.")
  boolean version;

  final Map<String, String> env;
  private final boolean terminal;

  Main(Map<String, String> env) {
    this(env, false);
  }

  Main(Map<String, String> env, boolean terminal) {
    this.env = Objects.requireNonNull(env, "env");
    this.terminal = terminal;
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  /** Whether the CLI runs on a terminal (progress bars instead of plain lines). */
  boolean terminal() {
    return terminal;
  }

  boolean debug() {
    return "1".equals(env.get("MICROPOD_DEBUG"));
  }

  public static void main(String[] args) {
    Map<String, String> env = System.getenv();
    configureLogging("1".equals(env.get("MICROPOD_DEBUG")));
    int code = commandLine(new Main(env, System.console() != null),
        new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args);
    System.exit(code);
  }

  /** Runs the command line and returns the exit status (tests call this; main exits with it). */
  static int execute(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    return commandLine(new Main(env), out, err).execute(args);
  }

  static CommandLine commandLine(Main main, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(main);
    cl.setOut(out);
    cl.setErr(err);
    // Everything after IMAGE (run) or ID (exec, top) is the command, flags included: `run img ls -l`.
    cl.getSubcommands().get("run").setStopAtPositional(true);
    cl.getSubcommands().get("exec").setStopAtPositional(true);
    cl.getSubcommands().get("top").setStopAtPositional(true); // `top web -o pid,comm`: ps's options
    Errors errors = new Errors(main.debug());
    cl.setParameterExceptionHandler(errors::onParameterError);
    cl.setExecutionExceptionHandler(errors::onExecutionError);
    return cl;
  }

  /** slf4j-simple: errors only (the CLI reports failures itself), everything with debug. */
  static void configureLogging(boolean debug) {
    setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", debug ? "debug" : "error");
    setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
    setIfAbsent("org.slf4j.simpleLogger.showDateTime", debug ? "true" : "false");
    setIfAbsent("org.slf4j.simpleLogger.log.io.grpc", "info"); // its Netty internals, even in debug
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
