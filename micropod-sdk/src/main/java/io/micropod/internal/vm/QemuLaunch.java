package io.micropod.internal.vm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The command that starts QEMU: a small {@code sh} that, before it execs QEMU (same pid),
 * <ol>
 *   <li>opens the files QEMU is handed as descriptors ({@link VmmUser.PassedFile}; as root, QEMU
 *       could not open them by path after the drop);
 *   <li>starts the console capper: the guest console reaches its log through a pipe (descriptor
 *       {@link Console#fd}, a FIFO in the 0700 pod directory, unlinked at once) into
 *       {@code stdbuf -o0 head -c <max>} (unbuffered: what the guest printed is in the log at once,
 *       for the start-up checks and the error tails), then the marker {@value #MARKER_FORMAT},
 *       then {@code cat >/dev/null}.
 *       So a guest that prints without end cannot fill the host's disk, and this holds for
 *       detached pods after the JVM is gone: the capper lives as long as QEMU holds the pipe and
 *       ends at its EOF (QEMU's exit, a SIGKILL included). As root it runs dropped like QEMU;
 *       {@code RLIMIT_FSIZE} on QEMU is no alternative: it would also stop QEMU sizing its
 *       guest-RAM memfd;
 *   <li>exports the environment (values may name descriptors: {@code LD_PRELOAD=/dev/fd/N});
 *   <li>execs QEMU, as root through {@link VmmUser#setpriv}.
 * </ol>
 * Firecracker's console (its stdout) goes through the same capper: {@link #stdoutToConsole}.
 */
public final class QemuLaunch {
  /** The line that ends a console log cut at its cap ({@code %s}: the cap in bytes). */
  public static final String MARKER_FORMAT = "[micropod: console log truncated after %s bytes]";

  private QemuLaunch() {}

  /**
   * The guest console: QEMU writes descriptor {@code fd} (a pipe through {@code fifo}, which must
   * not exist); at most {@code maxBytes} reach {@code log}.
   */
  public record Console(Path log, Path fifo, int fd, long maxBytes) {
    public Console {
      if (maxBytes < 1) {
        throw new IllegalArgumentException("console log cap < 1 byte: " + maxBytes);
      }
    }
  }

  /**
   * The full command.
   *
   * @param user the identity QEMU drops to, or null to keep this process's
   * @param diesWithJvm whether the drop sets {@code --pdeathsig SIGKILL} again
   */
  public static List<String> command(VmmUser user, List<VmmUser.PassedFile> files, Console console,
      Map<String, String> env, boolean diesWithJvm, List<String> qemu) {
    List<String> args = new ArrayList<>();
    StringBuilder script = new StringBuilder();
    if (!files.isEmpty()) {
      script.append("exec");
      for (VmmUser.PassedFile f : files) {
        args.add(f.path().toString());
        script.append(' ').append(f.fd()).append(f.append() ? ">>" : "<").append(arg(args.size()));
      }
      script.append(" || exit 126; ");
    }
    startCapper(script, args, user, console);
    for (String name : new TreeSet<>(env.keySet())) {
      if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new IllegalArgumentException("environment variable name: " + name);
      }
      args.add(env.get(name));
      script.append("export ").append(name).append('=').append(arg(args.size())).append("; ");
    }
    script.append("shift ").append(args.size()).append("; exec \"$@\"");
    List<String> c = new ArrayList<>(List.of("sh", "-c", script.toString(), "micropod-vmm"));
    c.addAll(args);
    if (user != null) {
      c.addAll(user.setpriv(diesWithJvm));
    }
    c.addAll(qemu);
    return c;
  }

  /**
   * {@code command} with its standard output and error through the console capper: for a VMM
   * whose guest console is its stdout (Firecracker's serial console). The capper is the same as
   * QEMU's, so is the rule: at most {@link Console#maxBytes} reach {@link Console#log}, then the
   * marker, the rest discarded; it ends at the VMM's EOF.
   *
   * <p>The capper's pid is written to {@code capperPid}: what the VMM printed last (its error
   * when it dies at start) reaches the log a moment after the VMM exits, once the capper has
   * copied it; who reads the log then waits for that pid to end.
   *
   * @param user the identity the capper drops to (root: the pod's VMM user), or null to keep
   *     this process's
   */
  public static List<String> stdoutToConsole(VmmUser user, Console console, Path capperPid, List<String> command) {
    if (console.fd() != 1) {
      throw new IllegalArgumentException("the console of stdoutToConsole is descriptor 1, not " + console.fd());
    }
    List<String> args = new ArrayList<>();
    StringBuilder script = new StringBuilder();
    startCapper(script, args, user, console);
    args.add(capperPid.toString());
    script.append("echo $! >").append(arg(args.size())).append(" || exit 126; ");
    script.append("exec 2>&1; shift ").append(args.size()).append("; exec \"$@\"");
    List<String> c = new ArrayList<>(List.of("sh", "-c", script.toString(), "micropod-vmm"));
    c.addAll(args);
    c.addAll(command);
    return c;
  }

  /**
   * Appends the capper's start to {@code script} (its FIFO and log become the next positional
   * parameters in {@code args}): make the FIFO, start {@code stdbuf -o0 head -c} behind it, open
   * descriptor {@link Console#fd} on it, unlink it. The one place of the console log rule.
   */
  private static void startCapper(StringBuilder script, List<String> args, VmmUser user, Console console) {
    args.add(console.fifo().toString());
    String fifo = arg(args.size());
    args.add(console.log().toString());
    String log = arg(args.size());
    script.append("mkfifo -m 600 ").append(fifo).append(" || exit 126; ");
    if (user != null) {
      for (String a : user.setpriv(false)) {
        script.append(quote(a)).append(' ');
      }
    }
    // The marker only when a byte follows the cap: a console that ended before it lost nothing.
    script.append("sh -c 'stdbuf -o0 head -c \"$1\"; [ $(head -c 1 | wc -c) -eq 0 ] || { printf \"\\n")
        .append(String.format(MARKER_FORMAT, "%s"))
        .append("\\n\" \"$1\"; exec cat >/dev/null; }' micropod-console ").append(console.maxBytes())
        .append(" <").append(fifo).append(" >>").append(log).append(" & ");
    script.append("exec ").append(console.fd()).append('>').append(fifo).append(" || exit 126; rm -f ")
        .append(fifo).append("; ");
  }

  /**
   * The quoted reference to positional parameter {@code n}: sh reads {@code $10} as {@code ${1}0},
   * so from 10 on it needs braces (a blk pod with a system image has more than nine: its exposed
   * host ports reached the network guard as the kernel's path plus "0").
   */
  private static String arg(int n) {
    return n <= 9 ? "\"$" + n + "\"" : "\"${" + n + "}\"";
  }

  /** {@code s} as one shell word. */
  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
