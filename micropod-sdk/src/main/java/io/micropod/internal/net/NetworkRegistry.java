package io.micropod.internal.net;

import io.micropod.internal.files.FileLocks;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micropod.NetworkException;
import io.micropod.internal.base.Ids;
import io.micropod.internal.state.ProcStat;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The networks of one runtime, owned and joined, and the records in
 * {@code <home>/networks/<name>.json}, which other processes sharing the home read: a name is
 * unique per home while its creating process lives, and so is the subnet index. Another process
 * {@linkplain #join joins} a network through the owner's control socket. Records of dead
 * processes (pid and start time) are stale: any create, join or list removes them with their
 * socket directory (what a SIGKILLed owner leaves). Create, join and list hold
 * {@code <home>/networks/.lock} (a file lock) so that two processes cannot take the same name or
 * subnet. Thread-safe.
 *
 * <p>Record (version 1): {@code {"version":1, "name", "subnet", "switchDirectory", "controlSocket",
 * "ownerPid", "ownerStart", "created", "members":[{"pod","address","mac","aliases":[..]}]}}.
 */
public final class NetworkRegistry {
  private static final Logger log = LoggerFactory.getLogger(NetworkRegistry.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** In-process guard: a JVM cannot hold two overlapping locks on one file. */
  private static final Object PROCESS_LOCK = new Object();

  private final Path dir;
  private final Map<String, LocalNetwork> networks = new ConcurrentHashMap<>();
  private Thread shutdownHook;

  public NetworkRegistry(Path home) {
    this.dir = home.resolve("networks");
  }

  /** Where the records are. */
  public Path directory() {
    return dir;
  }

  /**
   * Creates network {@code name}: reserves the name and a subnet, starts its switch, writes its
   * record. Nothing is left behind when it fails.
   *
   * @param handle makes the public object that stands for it
   * @throws NetworkException when the name is taken or no subnet is free
   */
  public LocalNetwork create(String name, java.util.function.Function<LocalNetwork, Object> handle) {
    synchronized (PROCESS_LOCK) {
      Path socketDir = null;
      EthernetSwitch ethernet = null;
      try {
        Files.createDirectories(dir);
        try (FileLocks.Held lock = FileLocks.lockIo(dir.resolve(".lock"))) {
          Path record = recordOf(name);
          sweep();
          JsonNode existing = read(record);
          if (existing != null) {
            long pid = existing.path("ownerPid").asLong(-1);
            throw new NetworkException(name, "a network named '" + name + "' already exists (created by "
                + (pid == ProcessHandle.current().pid() ? "this process" : "process " + pid) + ", record "
                + record + "): choose another name, join it with runtime.network(\"" + name
                + "\"), or close it first", null);
          }
          int index = freeIndex();
          socketDir = Path.of("/tmp", "micropod-net-" + Ids.newPodId());
          Files.createDirectory(socketDir,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
          ethernet = EthernetSwitch.start(name, socketDir);
          LocalNetwork n = new LocalNetwork(this, name, index, ethernet);
          n.control(NetworkControl.start(n, socketDir.resolve("control.sock")));
          if (io.micropod.internal.vm.VmmUser.active()) {
            shareWithPods(socketDir, ethernet);
          }
          n.handle(handle.apply(n));
          networks.put(name, n);
          installShutdownHook();
          writeState(n);
          log.debug("network {} created: {}, switch ports in {}", name, n.subnet(), socketDir);
          return n;
        }
      } catch (IOException | RuntimeException e) {
        if (ethernet != null) {
          networks.remove(name); // only what this call added, never an existing network
          ethernet.close();
        }
        if (socketDir != null) {
          try {
            Files.deleteIfExists(socketDir.resolve("control.sock"));
            Files.deleteIfExists(socketDir);
          } catch (IOException ignored) {
            // best effort
          }
        }
        if (e instanceof NetworkException) {
          throw (NetworkException) e;
        }
        throw new NetworkException(name, "cannot create network " + name + " (records in " + dir
            + "): " + e, e);
      }
    }
  }

  /**
   * At JVM exit, removes the records and sockets of networks still open (a default runtime is
   * never closed): the switch threads die with the JVM, their traces should not outlive it.
   */
  private synchronized void installShutdownHook() {
    if (shutdownHook != null) {
      return;
    }
    shutdownHook = new Thread(() -> {
      for (LocalNetwork n : networks.values()) {
        if (!n.owned()) {
          continue;
        }
        try {
          Files.deleteIfExists(recordOf(n.name()));
          deleteSocketDir(n.switchDirectory());
        } catch (IOException | RuntimeException e) {
          // the JVM is exiting: best effort
        }
      }
    }, "micropod-networks-shutdown");
    try {
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // already shutting down
    }
  }

  /**
   * Moves owned network {@code n} into a {@link NetworkHolder} of its own (mode while-used) and
   * joins it there, {@code n} now standing for the joined network: a detached pod is about to
   * join it, and the network must outlive this process as the pod does. Only an unused network
   * moves (its switch's connections cannot); nothing to do for a joined one.
   *
   * @throws NetworkException when it is in use, or the holder fails (the network is then closed)
   */
  public synchronized void handOver(LocalNetwork n) {
    if (!n.owned()) {
      return;
    }
    Path oldPorts = n.switchDirectory();
    n.releaseForHolder();
    synchronized (PROCESS_LOCK) {
      try {
        Files.deleteIfExists(recordOf(n.name()));
        deleteSocketDir(oldPorts);
      } catch (IOException e) {
        log.warn("network {}: cannot delete its record or socket: {}", n.name(), e.toString());
      }
    }
    JsonNode r;
    long holder;
    try {
      holder = NetworkHolder.spawn(n.name(), dir.getParent(), NetworkHolder.Mode.WHILE_USED);
      r = read(recordOf(n.name()));
      if (r == null) {
        throw new NetworkException(n.name(), "network " + n.name() + ": its holder's record vanished", null);
      }
      n.joinHolder(indexOf(r.path("subnet").asText("")), Path.of(r.path("switchDirectory").asText()), holder,
          Path.of(r.path("controlSocket").asText()));
    } catch (RuntimeException e) {
      n.close();
      networks.remove(n.name(), n);
      throw e;
    }
    log.debug("network {}: handed over to holder process {} ({})", n.name(), holder, n.subnet());
  }

  /** The live network whose public object is {@code handle}, or null. */
  public LocalNetwork find(Object handle) {
    for (LocalNetwork n : networks.values()) {
      if (n.handle() == handle) {
        return n;
      }
    }
    return null;
  }

  /** Closes every network of this runtime. */
  public void closeAll() {
    for (LocalNetwork n : new ArrayList<>(networks.values())) {
      n.close();
    }
  }

  private Path recordOf(String name) {
    return dir.resolve(name + ".json");
  }

  private int freeIndex() throws IOException {
    Set<Integer> used = new HashSet<>();
    try (DirectoryStream<Path> records = Files.newDirectoryStream(dir, "*.json")) {
      for (Path p : records) {
        JsonNode r = read(p);
        if (r != null && ownerAlive(r)) {
          String subnet = r.path("subnet").asText("");
          String[] parts = subnet.split("\\.");
          if (parts.length == 4) {
            try {
              used.add(Integer.parseInt(parts[2]));
            } catch (NumberFormatException ignored) {
              // not ours
            }
          }
        }
      }
    }
    for (int i = 1; i <= 254; i++) {
      if (!used.contains(i)) {
        return i;
      }
    }
    throw new IOException("all 254 subnets 10.89.1-254.0/24 are in use: close some networks");
  }

  /** Whether the record's owner runs: its pid with the recorded start time (pids are recycled). */
  static boolean ownerAlive(JsonNode record) {
    long pid = record.path("ownerPid").asLong(-1);
    if (pid <= 0) {
      return false;
    }
    JsonNode start = record.get("ownerStart");
    if (start != null && start.canConvertToLong()) {
      return ProcStat.isAlive(pid, start.asLong());
    }
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /**
   * Removes the records of dead owners and their socket directories (a SIGKILLed owner leaves
   * both). Caller holds the file lock.
   */
  private void sweep() throws IOException {
    try (DirectoryStream<Path> records = Files.newDirectoryStream(dir, "*.json")) {
      for (Path p : records) {
        JsonNode r = read(p);
        if (r != null && !ownerAlive(r)) {
          reclaim(p, r);
        }
      }
    }
  }

  private static void reclaim(Path record, JsonNode r) {
    log.info("network {}: removing the record of process {}, which exited without closing it ({})",
        r.path("name").asText(), r.path("ownerPid").asLong(-1), record);
    try {
      Files.deleteIfExists(record);
      String d = r.path("switchDirectory").asText("");
      String older = r.path("switchSocket").asText(""); // records of SDKs before bound ports
      if (!d.isEmpty()) {
        deleteSocketDir(Path.of(d));
      } else if (!older.isEmpty() && Path.of(older).getParent() != null) {
        deleteSocketDir(Path.of(older).getParent());
      }
    } catch (IOException | RuntimeException e) {
      log.warn("network {}: cannot remove the stale record {}: {}", r.path("name").asText(), record, e.toString());
    }
  }

  /**
   * As root, members' QEMUs run unprivileged ({@link io.micropod.internal.vm.VmmUser}): the switch's
   * port sockets and their directory belong to the network's own group, which they hold; the
   * control socket stays root's alone. Nobody else gets in: the directory is {@code 0710}.
   */
  private static void shareWithPods(Path socketDir, EthernetSwitch ethernet) throws IOException {
    int gid = io.micropod.internal.vm.VmmUser.networkGid(socketDir.getFileName().toString());
    Files.setPosixFilePermissions(socketDir.resolve("control.sock"), PosixFilePermissions.fromString("rw-------"));
    ethernet.sharePortsWithGroup(gid);
    Files.setAttribute(socketDir, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwx--x---"));
  }

  /** Deletes a network's socket directory (port sockets, control socket), if it is ours. */
  private static void deleteSocketDir(Path d) throws IOException {
    if (d.getFileName() == null || !d.getFileName().toString().startsWith("micropod-net-")) {
      return;
    }
    try (java.util.stream.Stream<Path> s = Files.list(d)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String f = p.getFileName().toString();
        if (f.endsWith(".sock")) {
          Files.deleteIfExists(p);
        }
      }
    } catch (java.nio.file.NoSuchFileException e) {
      return;
    }
    Files.deleteIfExists(d);
  }

  /**
   * The network {@code name} that this or another process sharing the home created: this
   * registry's own, or a new joined one connected to its owner.
   *
   * @param handle makes the public object for a newly joined network
   * @throws NetworkException when there is no such network, its owner died (its record is
   *     removed then), or its owner does not answer
   */
  public LocalNetwork join(String name, java.util.function.Function<LocalNetwork, Object> handle) {
    LocalNetwork mine = networks.get(name);
    if (mine != null && !mine.isClosed()) {
      return mine;
    }
    JsonNode r;
    synchronized (PROCESS_LOCK) {
      try {
        Files.createDirectories(dir);
        try (FileLocks.Held lock = FileLocks.lockIo(dir.resolve(".lock"))) {
          Path record = recordOf(name);
          r = read(record);
          if (r == null) {
            throw new NetworkException(name, "no network named '" + name + "' in " + dir + ": create it with"
                + " runtime.newNetwork(\"" + name + "\") (networks live as long as the process that created them)",
                null);
          }
          if (!ownerAlive(r)) {
            reclaim(record, r);
            throw new NetworkException(name, "network '" + name + "' is gone: process " + r.path("ownerPid").asLong(-1)
                + " that created it exited without closing it (its record is now removed); create it anew with"
                + " runtime.newNetwork(\"" + name + "\")", null);
          }
        }
      } catch (IOException e) {
        throw new NetworkException(name, "cannot read the record of network " + name + " in " + dir + ": " + e, e);
      }
    }
    String control = r.path("controlSocket").asText("");
    if (control.isEmpty()) {
      throw new NetworkException(name, "network " + name + " was created by an SDK without cross-process joining"
          + " (process " + r.path("ownerPid").asLong(-1) + "): create the network with this version", null);
    }
    int index = indexOf(r.path("subnet").asText(""));
    String ports = r.path("switchDirectory").asText("");
    if (ports.isEmpty()) {
      throw new NetworkException(name, "network " + name + " was created by an SDK without bound switch ports"
          + " (process " + r.path("ownerPid").asLong(-1) + "): create the network with this version", null);
    }
    LocalNetwork n = new LocalNetwork(this, name, index, Path.of(ports),
        r.path("ownerPid").asLong());
    n.link(Path.of(control));
    n.handle(handle.apply(n));
    LocalNetwork raced = networks.putIfAbsent(name, n);
    if (raced != null && !raced.isClosed()) {
      n.close();
      return raced;
    }
    if (raced != null) {
      networks.put(name, n);
    }
    log.debug("network {} joined: {}, owner process {}", name, n.subnet(), n.ownerPid());
    return n;
  }

  private static int indexOf(String subnet) {
    String[] parts = subnet.split("\\.");
    try {
      return Integer.parseInt(parts[2]);
    } catch (RuntimeException e) {
      throw new IllegalStateException("bad subnet in a network record: '" + subnet + "'");
    }
  }

  /** A network recorded in a home. */
  public record Recorded(String name, String subnet, long ownerPid, Instant created, List<String> members) {}

  /**
   * The networks recorded in {@code home} whose creating process still runs, by name; removes
   * stale records on the way.
   */
  public static List<Recorded> list(Path home) {
    Path d = home.resolve("networks");
    List<Recorded> found = new ArrayList<>();
    if (!Files.isDirectory(d)) {
      return found;
    }
    synchronized (PROCESS_LOCK) {
      try (FileLocks.Held lock = FileLocks.lockIo(d.resolve(".lock"));
           DirectoryStream<Path> records = Files.newDirectoryStream(d, "*.json")) {
        for (Path p : records) {
          JsonNode r = read(p);
          if (r == null) {
            continue;
          }
          if (!ownerAlive(r)) {
            reclaim(p, r);
            continue;
          }
          List<String> members = new ArrayList<>();
          r.path("members").forEach(m -> members.add(m.path("pod").asText()));
          Instant created;
          try {
            created = Instant.parse(r.path("created").asText());
          } catch (RuntimeException e) {
            created = Instant.EPOCH;
          }
          found.add(new Recorded(r.path("name").asText(), r.path("subnet").asText(), r.path("ownerPid").asLong(),
              created, List.copyOf(members)));
        }
      } catch (IOException e) {
        log.debug("cannot list {}: {}", d, e.toString());
      }
    }
    found.sort(java.util.Comparator.comparing(Recorded::name));
    return found;
  }

  private static JsonNode read(Path record) {
    try {
      return JSON.readTree(Files.readAllBytes(record));
    } catch (java.nio.file.NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      log.debug("unreadable network record {}: {}", record, e.toString());
      return null;
    }
  }

  /** Writes {@code n}'s record (write to a temp file, then rename), when owned. Failures are logged. */
  void writeState(LocalNetwork n) {
    if (!n.owned()) {
      return;
    }
    synchronized (n) {
      writeRecord(n);
    }
  }

  private void writeRecord(LocalNetwork n) {
    ObjectNode r = JSON.createObjectNode();
    r.put("version", 1);
    r.put("name", n.name());
    r.put("subnet", n.subnet());
    r.put("switchDirectory", n.switchDirectory().toString());
    r.put("controlSocket", n.switchDirectory().resolve("control.sock").toString());
    r.put("ownerPid", ProcessHandle.current().pid());
    r.put("ownerStart", ProcStat.self());
    r.put("created", n.created().toString());
    ArrayNode members = r.putArray("members");
    for (LocalNetwork.Member m : n.members()) {
      ObjectNode o = members.addObject();
      o.put("pod", m.podId());
      o.put("address", m.address());
      o.put("mac", m.mac());
      ArrayNode a = o.putArray("aliases");
      m.aliases().forEach(a::add);
    }
    Path record = recordOf(n.name());
    try {
      Path tmp = dir.resolve("." + n.name() + ".json.tmp");
      Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(r));
      Files.move(tmp, record, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn("network {}: cannot write its record {}: {}", n.name(), record, e.toString());
    }
  }

  /**
   * Forgets {@code n} and deletes its record and socket directory when owned. A joined network
   * stays known (closed) until a new join of its name replaces it, so that a pod started on it
   * learns why it is closed.
   */
  void removed(LocalNetwork n) {
    if (!n.owned()) {
      return;
    }
    networks.remove(n.name(), n);
    try {
      Files.deleteIfExists(recordOf(n.name()));
      deleteSocketDir(n.switchDirectory());
    } catch (IOException e) {
      log.warn("network {}: cannot delete its record or socket: {}", n.name(), e.toString());
    }
  }

  /** Names of the networks recorded in {@code home} whose creating process still runs. */
  public static List<String> recorded(Path home) {
    List<String> names = new ArrayList<>();
    for (Recorded r : list(home)) {
      names.add(r.name());
    }
    return names;
  }
}
