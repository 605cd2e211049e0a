package io.micropod;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of a test's own, reachable from the host: a veth pair with the host's end at
 * {@link #HOST_END} and the namespace's at {@link #NS_END} (a /30 of TEST-NET-3), and the addresses
 * given to {@link #create} (in TEST-NET-2, 198.51.100.0/24) on the namespace's loopback, routed
 * from the host through the pair. Refuses to start when the host already uses either range (some
 * machines, this project's included, use TEST-NET-1 192.0.2.0/24 for their own network, which is
 * why it is not used here). So servers started in it with
 * {@link #start} serve at TEST-NET addresses, and traffic to them never leaves this machine.
 * Needs root ({@code ip netns}); {@link #close()} kills what it started and removes the route,
 * the pair and the namespace. Hold the VM lock while one exists: the route is host-wide.
 */
final class TestNetns implements AutoCloseable {
  /** The host's end of the pair: an address of the host while the namespace exists. */
  static final String HOST_END = "203.0.113.1";
  static final String NS_END = "203.0.113.2";
  private static final String ROUTED = "198.51.100.0/24";
  private final String name;
  private final String hostVeth;
  private final String prefix;
  private final List<Process> processes = new ArrayList<>();

  private TestNetns(String name, String hostVeth, String prefix) {
    this.name = name;
    this.hostVeth = hostVeth;
    this.prefix = prefix;
  }

  /**
   * Creates the namespace with {@code addresses} (each {@code 198.51.100.x}).
   *
   * @throws IllegalStateException when not root, when the host already has an address or route in
   *     198.51.100.0/24 or 203.0.113.0/24, or when {@code ip} fails (what it said)
   */
  static TestNetns create(String... addresses) throws IOException, InterruptedException {
    for (String a : addresses) {
      if (!a.startsWith("198.51.100.")) {
        throw new IllegalArgumentException("only TEST-NET-2 addresses go into a test namespace: " + a);
      }
    }
    String uid = new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(),
        StandardCharsets.US_ASCII).trim();
    if (!"0".equals(uid)) {
      throw new IllegalStateException("this test creates a network namespace (ip netns add) and needs root;"
          + " run the ITs as root (as CI does)");
    }
    String used = output("ip", "-o", "addr") + output("ip", "route", "show", "table", "all");
    if (used.contains("198.51.100.") || used.contains("203.0.113.")) {
      throw new IllegalStateException("this host already uses 198.51.100.0/24 or 203.0.113.0/24 (a test namespace"
          + " left behind? `ip netns list`, `ip route`): the test's namespace would collide with it\n" + used);
    }
    String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
    TestNetns ns = new TestNetns("mptest-" + id, "mpt" + id + "h", ROUTED);
    try {
      ns.ip("netns", "add", ns.name);
      ns.ip("link", "add", ns.hostVeth, "type", "veth", "peer", "name", "mpt" + id + "n");
      ns.ip("link", "set", "mpt" + id + "n", "netns", ns.name);
      ns.ip("addr", "add", HOST_END + "/30", "dev", ns.hostVeth);
      ns.ip("link", "set", ns.hostVeth, "up");
      ns.ip("-n", ns.name, "addr", "add", NS_END + "/30", "dev", "mpt" + id + "n");
      ns.ip("-n", ns.name, "link", "set", "mpt" + id + "n", "up");
      ns.ip("-n", ns.name, "link", "set", "lo", "up");
      for (String a : addresses) {
        ns.ip("-n", ns.name, "addr", "add", a + "/32", "dev", "lo");
      }
      ns.ip("route", "add", ROUTED, "via", NS_END, "dev", ns.hostVeth);
      return ns;
    } catch (IOException | InterruptedException | RuntimeException e) {
      ns.close();
      throw e;
    }
  }

  /** Starts {@code command} inside the namespace; stdout and stderr merged; killed by {@link #close()}. */
  Process start(List<String> command) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
    cmd.addAll(command);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    processes.add(p);
    return p;
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    quietly("route", "del", prefix, "via", NS_END);
    quietly("link", "del", hostVeth); // takes its peer with it
    quietly("netns", "del", name);
  }

  private static String output(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(20, TimeUnit.SECONDS);
    return out;
  }

  private void ip(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("ip"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
  }

  private void quietly(String... args) {
    try {
      List<String> cmd = new ArrayList<>(List.of("ip"));
      cmd.addAll(List.of(args));
      new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start().waitFor(20, TimeUnit.SECONDS);
    } catch (IOException e) {
      // nothing left to undo
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
