package io.micropod.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The command lines of the OCI runtime ({@code runc}; {@code crun} takes the same ones), and the
 * short ones run to completion. The long-running {@code run} and {@code exec} are started by
 * {@link Container} and {@link ExecSession}, which own their stdio.
 */
public final class Runc {
  static final Duration SHORT_TIMEOUT = Duration.ofSeconds(30);

  private final Path binary;
  private final Path root;
  private final Commands commands;

  /**
   * @param binary the runtime binary
   * @param root runc's {@code --root} state directory, or null for its default
   */
  public Runc(Path binary, Path root, Commands commands) {
    this.binary = binary;
    this.root = root;
    this.commands = commands;
  }

  public Path binary() {
    return binary;
  }

  private List<String> base(Path logFile) {
    List<String> argv = new ArrayList<>();
    argv.add(binary.toString());
    if (root != null) {
      argv.add("--root");
      argv.add(root.toString());
    }
    if (logFile != null) {
      argv.add("--log");
      argv.add(logFile.toString());
      argv.add("--log-format");
      argv.add("json");
    }
    return argv;
  }

  /** {@link #base} followed by {@code words} (paths as strings). */
  private List<String> command(Path logFile, Object... words) {
    List<String> argv = base(logFile);
    for (Object w : words) {
      argv.add(w.toString());
    }
    return argv;
  }

  /**
   * {@code runc --log <bundle>/runc.log --log-format json run --bundle <bundle> --pid-file
   * <bundle>/pid <id>}: runs the container in the foreground; its stdio is runc's.
   */
  List<String> runCommand(String id, Path bundle, Path logFile, Path pidFile) {
    return command(logFile, "run", "--bundle", bundle, "--pid-file", pidFile, id);
  }

  /** {@code runc --log <log> --log-format json exec --process <json> <id>}, in the foreground. */
  List<String> execCommand(String id, Path processJson, Path logFile) {
    return command(logFile, "exec", "--process", processJson, id);
  }

  /**
   * {@code runc exec -d --console-socket <socket> --pid-file <pidFile> --process <json> <id>}: the
   * exec of a process with {@code terminal: true}; runc sends the pty master to {@code socket}
   * and exits once the process runs (see {@link TtyExec}).
   */
  List<String> ttyExecCommand(String id, Path processJson, Path logFile, Path socket, Path pidFile) {
    return command(logFile, "exec", "--detach", "--console-socket", socket, "--pid-file", pidFile,
        "--process", processJson, id);
  }

  /**
   * {@code runc exec -d --pid-file <pidFile> --preserve-fds 2 --process <json> <id>}: starts the
   * exec helper ({@link ExecHelper}), which gets descriptors 3 (its control socket) and 4 (the
   * sealed copy of its binary that {@code json}'s args run).
   */
  List<String> helperExecCommand(String id, Path processJson, Path logFile, Path pidFile) {
    return command(logFile, "exec", "--detach", "--pid-file", pidFile, "--preserve-fds", "2",
        "--process", processJson, id);
  }

  /**
   * {@code runc run -d --console-socket <socket> --pid-file <pidFile> --bundle <bundle> <id>}: a
   * container whose process has {@code terminal: true}; runc sends the pty master to {@code
   * socket} and exits once the process runs (see {@link TtyExec}).
   */
  List<String> ttyRunCommand(String id, Path bundle, Path logFile, Path socket, Path pidFile) {
    return command(logFile, "run", "--detach", "--console-socket", socket, "--pid-file", pidFile,
        "--bundle", bundle, id);
  }

  /** {@code runc kill <id> <signal>}. */
  Commands.Result kill(String id, int signal) throws IOException {
    return commands.run(command(null, "kill", id, Integer.toString(signal)), SHORT_TIMEOUT);
  }

  /** {@code runc delete --force <id>}: kills what runs and removes runc's state. */
  Commands.Result deleteForce(String id) throws IOException {
    return commands.run(command(null, "delete", "--force", id), SHORT_TIMEOUT);
  }

  /**
   * Where the guest image records the first {@code --version} line of each runtime binary, one
   * file per binary name ({@code /etc/micropod/version.d/runc}): reading it spares the guest a
   * runtime start (~0.4 s of its one vCPU under TCG) while the first host call is served.
   */
  public static final Path RECORDED_VERSIONS = Path.of("/etc/micropod/version.d");

  /** The first line of {@code runc --version}, e.g. "runc version 1.1.5". */
  public String version() throws IOException {
    return version(RECORDED_VERSIONS);
  }

  /**
   * The version line recorded for this binary in {@code recordedDir} when there is a non-empty
   * one, else the first line of {@code <binary> --version}.
   */
  String version(Path recordedDir) throws IOException {
    Path recorded = recordedDir.resolve(binary.getFileName().toString());
    if (Files.isRegularFile(recorded)) {
      String line = Files.readString(recorded, StandardCharsets.UTF_8).strip();
      int eol = line.indexOf('\n');
      if (!line.isEmpty()) {
        return eol < 0 ? line : line.substring(0, eol);
      }
    }
    Commands.Result r = commands.run(command(null, "--version"), SHORT_TIMEOUT);
    if (!r.ok()) {
      throw new IOException(binary + " --version exited with " + r.exitCode());
    }
    int eol = r.output().indexOf('\n');
    return eol < 0 ? r.output() : r.output().substring(0, eol);
  }
}
