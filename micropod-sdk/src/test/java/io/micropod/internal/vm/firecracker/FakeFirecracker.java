package io.micropod.internal.vm.firecracker;

import io.micropod.internal.transport.HybridVsockPeer;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CountDownLatch;

/**
 * STAND-IN for the {@code firecracker} executable (run through {@code fake-firecracker.sh}):
 * {@code --api-sock <path>} is served by a {@link FirecrackerContractPeer}; every request is
 * appended to {@code $FAKE_FC_RECORD} as {@code <status> <method> <path> <body>} just before it
 * is answered;
 * {@code $FAKE_FC_FAIL} ({@code "PUT /machine-config=message"}) makes that call fail with 400.
 * After {@code InstanceStart} it writes a line to stdout (the console) and to the logger's
 * {@code log_path}, and serves the hybrid vsock {@code uds_path} with an echo on guest port
 * 1024. {@code SendCtrlAltDel} makes it exit 0, as Firecracker exits when its guest reboots.
 * {@code $FAKE_FC_VERSION} is the release it plays ({@link FirecrackerContractPeer#playVersion}).
 * {@code /snapshot/create}, before it is answered, resets the vsock device as Firecracker does (open connections go dead,
 * {@link HybridVsockPeer#resetSilently}) and writes the vsock and network settings as the
 * "snapshot"; {@code /snapshot/load} serves the hybrid vsock at {@code vsock_override}, else at
 * the snapshot's {@code uds_path}, and writes the TAP it opened ({@code network_overrides}, else
 * the snapshot's) to {@code <snapshot_path>.tap-<pid>}. The memory file is written whole, every
 * page of {@code mem_size_mib} (as Firecracker dumps guest memory), its first page not zero.
 * {@code $FAKE_FC_AGENT}, when set, is a Unix socket that serves guest port 1024 instead of the
 * echo: a test's in-process agent, so that a whole pod runs against this stand-in; its
 * connections there are named after this process ({@link #powerOffGuestBehind}), and the guest
 * "powers off" (this stand-in exits 0, as Firecracker does when its guest reboots) when the agent
 * answered {@code Shutdown} and the test says so: without it every pod's stop waited out
 * {@code VMM_EXIT_GRACE} for a VMM that never exits by itself.
 */
public final class FakeFirecracker {
  private FakeFirecracker() {}

  /**
   * A path Firecracker is given, as this stand-in reaches it: under {@code FAKE_FC_ROOT} when a
   * stand-in jailer set it (it does not chroot: this plays the jail's root).
   */
  private static Path inJail(String path) {
    String root = System.getenv("FAKE_FC_ROOT");
    return root == null || root.isEmpty() ? Path.of(path) : Path.of(root, path);
  }

  public static void main(String[] args) throws Exception {
    Path apiSock = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--api-sock")) {
        apiSock = inJail(args[++i]);
      }
    }
    if (apiSock == null) {
      System.err.println("fake-firecracker: --api-sock is required");
      System.exit(2);
    }
    Path record = Path.of(System.getenv("FAKE_FC_RECORD"));
    String fail = System.getenv().getOrDefault("FAKE_FC_FAIL", "");
    // bound, answering only once the version, faults and recorders below are set: the driver
    // connects as soon as the socket exists, and its first call (GET /version) was once answered
    // unrecorded
    FirecrackerContractPeer peer = FirecrackerContractPeer.bind(apiSock);
    String version = System.getenv().getOrDefault("FAKE_FC_VERSION", "");
    if (!version.isEmpty()) {
      peer.playVersion(version);
    }
    String agentEnv = System.getenv().getOrDefault("FAKE_FC_AGENT", "");
    Path agent = agentEnv.isEmpty() ? null : Path.of(agentEnv);
    Path connections = agent == null ? null : agentSide(agent, ProcessHandle.current().pid());
    HybridVsockPeer[] guest = new HybridVsockPeer[1];
    int[] memMib = {0};
    String[] tap = new String[1];
    if (fail.contains("=")) {
      peer.failNext(fail.substring(0, fail.indexOf('=')), fail.substring(fail.indexOf('=') + 1));
    }
    System.out.println("fake-firecracker (MicroPod stand-in, no VM): serving " + apiSock);
    System.out.flush();
    // recorded before the answer: a driver that kills this VMM right after an answer (a refused
    // restore) must not lose the line
    peer.beforeAnswer(ex -> {
      try {
        Files.writeString(record, ex.status() + " " + ex.call() + " " + ex.body() + "\n", StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      } catch (IOException e) {
        e.printStackTrace();
      }
    });
    // what Firecracker has done when it answers a snapshot create: files written, vsock reset
    peer.beforeAnswer(ex -> {
      if (ex.status() != 204 || !ex.call().equals("PUT /snapshot/create")) {
        return;
      }
      try {
        if (guest[0] != null) {
          guest[0].resetSilently();
        }
        com.fasterxml.jackson.databind.node.ObjectNode state = FirecrackerApi.object();
        state.put("uds_path", peer.vsock() == null ? null : peer.vsock().get("uds_path").asText());
        state.put("tap", tap[0]);
        int mib = memMib[0] > 0 ? memMib[0] : peer.machineConfig().get("mem_size_mib").asInt();
        state.put("mem_size_mib", mib);
        Files.writeString(inJail(ex.body().get("snapshot_path").asText()), state.toString());
        writeMemory(inJail(ex.body().get("mem_file_path").asText()), mib);
      } catch (IOException e) {
        e.printStackTrace();
      }
    });
    peer.onExchange(ex -> {
      try {
        if (ex.status() == 204 && ex.call().startsWith("PUT /network-interfaces/")) {
          tap[0] = ex.body().get("host_dev_name").asText();
        }
        if (ex.status() == 204 && ex.call().equals("PUT /snapshot/load")) {
          com.fasterxml.jackson.databind.JsonNode state = FirecrackerApi.MAPPER.readTree(
              Files.readString(inJail(ex.body().get("snapshot_path").asText())));
          String uds = ex.body().has("vsock_override") ? ex.body().get("vsock_override").get("uds_path").asText()
              : state.get("uds_path").asText();
          String opened = state.path("tap").asText("");
          for (com.fasterxml.jackson.databind.JsonNode o : ex.body().path("network_overrides")) {
            opened = o.get("host_dev_name").asText();
          }
          // whole or absent: a test that sees the file reads what was opened (CI read it empty once)
          Path tapRecord = inJail(ex.body().get("snapshot_path").asText() + ".tap-" + ProcessHandle.current().pid());
          Path partial = tapRecord.resolveSibling(tapRecord.getFileName() + ".partial");
          Files.writeString(partial, opened);
          Files.move(partial, tapRecord, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
          memMib[0] = state.path("mem_size_mib").asInt();
          guest[0] = HybridVsockPeer.start(inJail(uds), 1024, agent, connections);
        }
        if (ex.status() == 204 && ex.call().equals("PUT /actions")) {
          String action = ex.body().get("action_type").asText();
          if (action.equals("InstanceStart")) {
            System.out.println("stand-in guest console: InstanceStart received, no kernel runs here");
            System.out.flush();
            if (peer.logger() != null && peer.logger().hasNonNull("log_path")) {
              Files.writeString(inJail(peer.logger().get("log_path").asText()),
                  "[stand-in] Running Firecracker stand-in\n", StandardOpenOption.APPEND);
            }
            if (peer.vsock() != null) {
              guest[0] = HybridVsockPeer.start(inJail(peer.vsock().get("uds_path").asText()), 1024, agent,
                  connections);
            }
          } else if (action.equals("SendCtrlAltDel")) {
            System.out.println("stand-in guest console: Ctrl-Alt-Del, rebooting -> VMM exits");
            System.out.flush();
            Files.deleteIfExists(peer.socket());
            Runtime.getRuntime().halt(0);
          }
        }
      } catch (IOException e) {
        e.printStackTrace();
      }
    });
    if (agent != null) {
      awaitPowerOff(peer.socket(), connections);
    }
    peer.serve();
    new CountDownLatch(1).await();
  }

  /** The name of the agent side of stand-in {@code pid}'s connections to {@code agent}, less {@code -<n>}. */
  private static Path agentSide(Path agent, long pid) {
    return agent.resolveSibling(agent.getFileName() + ".fc-" + pid);
  }

  private static Path powerOffSocket(Path agentSide) {
    return agentSide.resolveSibling(agentSide.getFileName() + ".poweroff");
  }

  /** A connection to {@code <agentSide>.poweroff} is the guest powering off: the VMM exits 0. */
  private static void awaitPowerOff(Path apiSocket, Path agentSide) throws IOException {
    Path off = powerOffSocket(agentSide);
    ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    s.bind(UnixDomainSocketAddress.of(off));
    Thread t = new Thread(() -> {
      try {
        s.accept();
        System.out.println("stand-in guest console: the agent powered the guest off -> VMM exits");
        System.out.flush();
        Files.deleteIfExists(off);
        Files.deleteIfExists(apiSocket);
      } catch (IOException e) {
        e.printStackTrace();
        return;
      }
      Runtime.getRuntime().halt(0);
    }, "fake-firecracker-power-off");
    t.setDaemon(true);
    t.start();
  }

  /**
   * The guest behind the agent connection whose peer address is {@code peerPath} powers off, as
   * a real guest does once its agent answered {@code Shutdown}: the stand-in that made that
   * connection exits. False when no stand-in made it (the path is not one of their names).
   */
  public static boolean powerOffGuestBehind(String peerPath) throws IOException {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(.*\\.fc-[0-9]+)-[0-9]+").matcher(peerPath);
    if (!m.matches()) {
      return false;
    }
    try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(powerOffSocket(Path.of(m.group(1)))))) {
      return true;
    }
  }

  /** Guest memory as Firecracker dumps it: {@code mib} MiB, every page written, the first not zero. */
  private static void writeMemory(Path file, int mib) throws IOException {
    try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      byte[] mibOfZeros = new byte[1 << 20];
      for (int i = 0; i < mib; i++) {
        java.nio.ByteBuffer chunk = java.nio.ByteBuffer.wrap(mibOfZeros);
        if (i == 0) {
          byte[] first = new byte[1 << 20];
          byte[] marker = "stand-in guest memory".getBytes(StandardCharsets.UTF_8);
          System.arraycopy(marker, 0, first, 0, marker.length);
          chunk = java.nio.ByteBuffer.wrap(first);
        }
        while (chunk.hasRemaining()) {
          c.write(chunk);
        }
      }
    }
  }

  /**
   * A driver running {@code binary} with the TAP devices {@code taps} (comma-separated), on a
   * FAKE {@code <dir>/sys} standing for {@code /sys/class/net} where each exists as a TAP
   * anybody may open, for a process with CAP_NET_ADMIN (a fake {@code /proc/self/status}): no
   * real TAP is made or opened.
   */
  public static FirecrackerDriver driverWithTaps(Path binary, Path dir, io.micropod.internal.image.BlockImages images,
      String taps, io.micropod.internal.transport.HybridVsockConnector.Timeouts timeouts) throws IOException {
    Path sys = Files.createDirectories(dir.resolve("sys"));
    for (String t : taps.split(",")) {
      Path tap = Files.createDirectories(sys.resolve(t.trim()));
      Files.writeString(tap.resolve("tun_flags"), "0x1002\n");
      Files.writeString(tap.resolve("owner"), "-1\n");
      Files.writeString(tap.resolve("group"), "-1\n");
    }
    FirecrackerNetwork net = new FirecrackerNetwork(sys,
        "Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000001000\n");
    return new FirecrackerDriver(binary, images, new FirecrackerDriver.Options(true, taps, timeouts), net);
  }

  /**
   * {@code fake-firecracker.sh} filled in, as {@code <dir>/fake-firecracker}: requests recorded
   * to {@code record}, {@code fail} ({@code "PUT /x=message"}, "" for none), playing release
   * {@code version} ("" for the peer's default), guest port 1024 served by {@code agent} (null:
   * an echo).
   */
  public static Path binary(Path dir, Path record, String fail, String version, Path agent) throws IOException {
    String template;
    try (java.io.InputStream in = FakeFirecracker.class.getResourceAsStream("fake-firecracker.sh")) {
      template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String script = template
        .replace("@RECORD@", record.toString())
        .replace("@FAIL@", fail)
        .replace("@VERSION@", version)
        .replace("@AGENT@", agent == null ? "" : agent.toString())
        .replace("@JAVA@", Path.of(System.getProperty("java.home"), "bin", "java").toString())
        .replace("@CLASSPATH@", System.getProperty("java.class.path"));
    Path bin = dir.resolve("fake-firecracker");
    Files.writeString(bin, script);
    Files.setPosixFilePermissions(bin, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    return bin;
  }
}
