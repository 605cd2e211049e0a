package io.micropod.internal.net;

import io.micropod.NetworkException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A network's <em>holder</em>: a small JVM of the SDK's own (this JVM's java and class path, in a
 * session of its own, Podman-conmon style; no daemon the user starts) that creates network
 * {@code name} and runs its switch, so that the network outlives the process that asked for it.
 * Detached pods need it: their membership outlives their starting JVM (see
 * {@link NetworkControl}), so the switch must too. Other processes join it through its control
 * socket like any owned network's.
 *
 * <p>Two lifetimes ({@link Mode}): {@code until-removed} ({@code micropod network create}, or
 * {@code MicroPodRuntime.createHeldNetwork}) ends on SIGTERM only ({@code network rm}); {@code
 * while-used} (a network handed over by the SDK when a detached pod joins it) ends by itself once
 * no process is connected and no pod is on it (stopped pods leave when their VMM dies), or when
 * nobody connected within {@link #FIRST_PEER_DEADLINE}. Either way its exit closes the network:
 * the switch, its sockets and the record go (a SIGKILLed holder's leftovers go with the registry's
 * sweep of dead owners).
 */
public final class NetworkHolder {
  /** The holder's first JVM option, followed by the network's name: how it is recognised. */
  public static final String MARK = "-Dmicropod.network-holder=";
  /** How long a spawner waits for the holder's network. */
  static final Duration READY_DEADLINE = Duration.ofSeconds(30);
  /** A while-used holder that nobody joined by then exits. */
  static final Duration FIRST_PEER_DEADLINE = Duration.ofSeconds(60);

  /** How long a holder lives. */
  public enum Mode {
    /** Until SIGTERM. */
    UNTIL_REMOVED("until-removed"),
    /** Until no process is connected and no pod is on the network. */
    WHILE_USED("while-used");

    final String arg;

    Mode(String arg) {
      this.arg = arg;
    }
  }

  private NetworkHolder() {}

  /**
   * Starts a holder of network {@code name} in {@code home} and waits until its record is
   * written.
   *
   * @return the holder's pid
   * @throws NetworkException when it fails (its stderr says why) or is not ready in time
   */
  public static long spawn(String name, Path home, Mode mode) {
    Path log = null;
    try {
      log = Files.createTempFile("micropod-network-" + name + "-", ".log");
      Process holder = start(name, home, mode, log);
      Instant deadline = Instant.now().plus(READY_DEADLINE);
      while (Instant.now().isBefore(deadline)) {
        Optional<NetworkRegistry.Recorded> r = find(home, name);
        if (r.isPresent() && r.get().ownerPid() == holder.pid()) {
          return holder.pid();
        }
        if (!holder.isAlive()) {
          String why = Files.readString(log, StandardCharsets.UTF_8).strip();
          String last = why.lines().reduce((a, b) -> b).orElse("");
          throw new NetworkException(name, last.isEmpty() ? "the process holding network " + name
              + " exited with status " + holder.exitValue() : last, null);
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      }
      holder.destroyForcibly();
      throw new NetworkException(name, "network " + name + " was not created within " + READY_DEADLINE.toSeconds()
          + " s (its holder, process " + holder.pid() + ", is killed); the host may be overloaded: retry", null);
    } catch (IOException e) {
      throw new NetworkException(name, "cannot start the process holding network " + name + ": " + e, e);
    } finally {
      if (log != null) {
        try {
          Files.deleteIfExists(log); // the holder keeps writing to the unlinked file: nothing is left
        } catch (IOException ignored) {
          // best effort
        }
      }
    }
  }

  /**
   * {@code java MARK+name -cp <this class path> NetworkHolder name home mode}, under
   * {@code setsid} so that the terminal's Ctrl-C and hang-up do not reach it; stdout discarded,
   * stderr to {@code log}.
   */
  private static Process start(String name, Path home, Mode mode, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      cmd.add("/usr/bin/setsid");
    }
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add(MARK + name); // first: /proc/PID/cmdline as Java reads it may cut a long class path
    cmd.add("-Xmx128m"); // the switch copies every frame of its pods: room for their queues
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1"); // starts faster; the switch is I/O-bound
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    Module sdk = NetworkHolder.class.getModule();
    String modulePath = System.getProperty("jdk.module.path");
    if (sdk.isNamed() && modulePath != null) { // an application on the module path: the same there
      cmd.add("-p");
      cmd.add(modulePath);
      cmd.add("-m");
      cmd.add(sdk.getName() + "/" + NetworkHolder.class.getName());
    } else {
      cmd.add(NetworkHolder.class.getName());
    }
    cmd.add(name);
    cmd.add(home.toString());
    cmd.add(mode.arg);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.redirectError(log.toFile());
    return pb.start();
  }

  /**
   * Removes network {@code name} of a holder: SIGTERM, then waits until it exited and its record
   * is gone.
   *
   * @param podName a member's name for messages (its id when it has none)
   * @throws NetworkException when there is no such network, pods are on it, a process other than
   *     a holder owns it, or the holder does not exit in time
   */
  public static void remove(Path home, String name, java.util.function.UnaryOperator<String> podName) {
    Optional<NetworkRegistry.Recorded> n = find(home, name);
    if (n.isEmpty()) {
      throw new NetworkException(name, "network " + name + " not found", null);
    }
    if (!n.get().members().isEmpty()) {
      List<String> pods = n.get().members().stream().map(podName).toList();
      throw new NetworkException(name, "network " + name + " is in use by pod" + (pods.size() == 1 ? " " : "s ")
          + String.join(", ", pods) + ": stop " + (pods.size() == 1 ? "it" : "them") + " first (micropod stop "
          + String.join(" ", pods) + ")", null);
    }
    long owner = n.get().ownerPid();
    Optional<ProcessHandle> holder = ProcessHandle.of(owner);
    if (holder.isEmpty()) {
      return; // the owner is gone: the look above removed the record
    }
    if (!isHolder(holder.get(), name)) {
      throw new NetworkException(name, "network " + name + " belongs to process " + owner + " (an application or a"
          + " `micropod run`), not to a network holder (`micropod network create`): it ends when that process"
          + " closes it or exits", null);
    }
    holder.get().destroy();
    Instant deadline = Instant.now().plus(READY_DEADLINE);
    while (Instant.now().isBefore(deadline)) {
      if (!holder.get().isAlive() && find(home, name).isEmpty()) {
        return;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    throw new NetworkException(name, "network " + name + ": its holder, process " + owner + ", did not exit within "
        + READY_DEADLINE.toSeconds() + " s of SIGTERM", null);
  }

  private static Optional<NetworkRegistry.Recorded> find(Path home, String name) {
    return NetworkRegistry.list(home).stream().filter(r -> r.name().equals(name)).findFirst();
  }

  /** Whether {@code p} is the holder of network {@code name} (its first JVM option says so). */
  public static boolean isHolder(ProcessHandle p, String name) {
    // commandLine(), not arguments(): Java gives no arguments when it had to cut a long command line
    return p.info().commandLine().orElse("").contains(" " + MARK + name + " ");
  }

  /** The holder: {@code name home mode}. */
  public static void main(String[] args) {
    String name = args[0];
    NetworkRegistry registry = new NetworkRegistry(Path.of(args[1]));
    LocalNetwork n;
    try {
      n = registry.create(name, local -> local);
    } catch (NetworkException e) {
      System.err.println("micropod: " + e.getMessage());
      System.exit(1);
      return;
    }
    // SIGTERM: the hook closes the network (switch, sockets, record) before the JVM exits
    Runtime.getRuntime().addShutdownHook(new Thread(registry::closeAll, "micropod-network-holder-exit"));
    if (args[2].equals(Mode.UNTIL_REMOVED.arg)) {
      LockSupport.park();
      return;
    }
    Instant started = Instant.now();
    boolean joined = false;
    while (true) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
      boolean used = n.control().peers() > 0 || !n.members().isEmpty();
      joined |= used;
      if (!used && (joined || Instant.now().isAfter(started.plus(FIRST_PEER_DEADLINE)))) {
        System.exit(0); // the hook closes the network
      }
    }
  }
}
