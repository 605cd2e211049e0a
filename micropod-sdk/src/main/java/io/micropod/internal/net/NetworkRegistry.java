package io.micropod.internal.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micropod.NetworkException;
import io.micropod.internal.Ids;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
 * The networks of one runtime, and their records in {@code <home>/networks/<name>.json}, which
 * other processes sharing the home read: a name is unique per home while its creating process
 * lives, and so is the subnet index. Records of dead processes are stale and reclaimed. Creation
 * holds {@code <home>/networks/.lock} (a file lock) so that two processes cannot take the same
 * name or subnet. Thread-safe.
 *
 * <p>Record (version 1): {@code {"version":1, "name", "subnet", "switchSocket", "ownerPid",
 * "created", "members":[{"pod","address","mac","aliases":[..]}]}}.
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
        try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockFile.lock()) {
          Path record = recordOf(name);
          JsonNode existing = read(record);
          if (existing != null) {
            long pid = existing.path("ownerPid").asLong(-1);
            if (ownerAlive(pid)) {
              throw new NetworkException(name, "a network named '" + name + "' already exists (created by "
                  + (pid == ProcessHandle.current().pid() ? "this process" : "process " + pid) + ", record "
                  + record + "): choose another name, or close that network first", null);
            }
            log.info("network {}: reclaiming the stale record of dead process {}", name, pid);
            Files.deleteIfExists(record);
          }
          int index = freeIndex();
          socketDir = Path.of("/tmp", "micropod-net-" + Ids.newPodId());
          Files.createDirectory(socketDir,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
          ethernet = EthernetSwitch.start(name, socketDir.resolve("switch.sock"));
          LocalNetwork n = new LocalNetwork(this, name, index, ethernet);
          n.handle(handle.apply(n));
          networks.put(name, n);
          installShutdownHook();
          writeState(n);
          log.debug("network {} created: {}, switch {}", name, n.subnet(), ethernet.socket());
          return n;
        }
      } catch (IOException | RuntimeException e) {
        if (ethernet != null) {
          networks.remove(name); // only what this call added, never an existing network
        }
        if (ethernet != null) {
          ethernet.close();
        }
        if (socketDir != null) {
          try {
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
        try {
          Files.deleteIfExists(recordOf(n.name()));
          Files.deleteIfExists(n.ethernet().socket());
          Files.deleteIfExists(n.ethernet().socket().getParent());
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
        if (r != null && ownerAlive(r.path("ownerPid").asLong(-1))) {
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

  private static boolean ownerAlive(long pid) {
    return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
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

  /** Writes {@code n}'s record (write to a temp file, then rename). Failures are logged. */
  void writeState(LocalNetwork n) {
    synchronized (n) {
      writeRecord(n);
    }
  }

  private void writeRecord(LocalNetwork n) {
    ObjectNode r = JSON.createObjectNode();
    r.put("version", 1);
    r.put("name", n.name());
    r.put("subnet", n.subnet());
    r.put("switchSocket", n.ethernet().socket().toString());
    r.put("ownerPid", ProcessHandle.current().pid());
    r.put("created", Instant.now().toString());
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

  /** Forgets {@code n} and deletes its record and socket directory. */
  void removed(LocalNetwork n) {
    networks.remove(n.name(), n);
    try {
      Files.deleteIfExists(recordOf(n.name()));
      Files.deleteIfExists(n.ethernet().socket());
      Files.deleteIfExists(n.ethernet().socket().getParent());
    } catch (IOException e) {
      log.warn("network {}: cannot delete its record or socket: {}", n.name(), e.toString());
    }
  }

  /** Names of the networks recorded in {@code home} whose creating process still runs. */
  public static List<String> recorded(Path home) {
    Path d = home.resolve("networks");
    List<String> names = new ArrayList<>();
    if (!Files.isDirectory(d)) {
      return names;
    }
    try (DirectoryStream<Path> records = Files.newDirectoryStream(d, "*.json")) {
      for (Path p : records) {
        JsonNode r = read(p);
        if (r != null && ownerAlive(r.path("ownerPid").asLong(-1))) {
          names.add(r.path("name").asText());
        }
      }
    } catch (IOException e) {
      log.debug("cannot list {}: {}", d, e.toString());
    }
    names.sort(null);
    return names;
  }
}
