package io.micropod.internal.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micropod.NetworkException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control socket of a network that this process owns: other processes sharing the MicroPod
 * home join the network through it ({@link NetworkLink} is the other end). Next to the switch
 * socket, in the same 0700 directory: only the same user can connect.
 *
 * <h2>Protocol</h2>
 * One JSON object per line, both ways. Requests carry an {@code id} and an {@code op}:
 * {@code hello} ({@code pid}), {@code attach} ({@code pod}, {@code aliases}), {@code detach}
 * ({@code pod}), {@code announce} ({@code pod}, and for a detached pod {@code vmmPid} and
 * {@code vmmStart}: its VMM's pid and start time); each gets one reply {@code {"reply":id,
 * "ok":true|false, "error", "member", "version", "members"}}. Whenever the membership changes
 * the owner pushes {@code {"version":v, "members":[...]}} to every connection; a peer keeps the
 * highest version it saw. Members are {@code {"pod","address","mac","host","aliases"}}.
 *
 * <h2>Lifetimes</h2>
 * A peer's pods belong to its connection: when it closes (the peer closed its handle, exited
 * or was killed, SIGKILL included), the owner detaches them and tells the others, except the
 * detached pods it announced with their VMM: they stay until that VMM exits (polled every
 * {@link #WATCH_PERIOD} by a {@code micropod-net-<name>-watch} thread) or a {@code detach}
 * says they left. When the owner
 * closes the network or dies, every connection closes and the peers know the network is gone.
 *
 * <p>Threads: {@code micropod-net-<name>-control} accepts, one {@code micropod-net-<name>-peer}
 * thread per connection reads (daemons). Thread-safe.
 */
final class NetworkControl implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NetworkControl.class);
  static final ObjectMapper JSON = new ObjectMapper();

  private final LocalNetwork network;
  private final Path socket;
  private final ServerSocketChannel server;
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  /** Detached pods that stay while their VMM runs: pod id to {pid, start time}. */
  private final java.util.Map<String, long[]> kept = new java.util.concurrent.ConcurrentHashMap<>();
  private Thread watch;
  private volatile boolean closed;

  private NetworkControl(LocalNetwork network, Path socket, ServerSocketChannel server) {
    this.network = network;
    this.socket = socket;
    this.server = server;
  }

  /** Binds {@code socket} (must not exist) and accepts peers of {@code network}. */
  static NetworkControl start(LocalNetwork network, Path socket) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(socket));
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    NetworkControl c = new NetworkControl(network, socket, server);
    Thread t = new Thread(c::acceptLoop, "micropod-net-" + network.name() + "-control");
    t.setDaemon(true);
    t.start();
    return c;
  }

  Path socket() {
    return socket;
  }

  /** How often the VMMs of detached pods are looked at. */
  static final java.time.Duration WATCH_PERIOD = java.time.Duration.ofSeconds(1);

  /** How many processes are connected. */
  int peers() {
    return peers.size();
  }

  /**
   * Keeps {@code pod} on the network after its peer's connection ends, until its VMM
   * ({@code pid} with start time {@code start}) exits.
   */
  private synchronized void keep(String pod, long pid, long start) {
    kept.put(pod, new long[] {pid, start});
    if (watch == null) {
      watch = new Thread(this::watchLoop, "micropod-net-" + network.name() + "-watch");
      watch.setDaemon(true);
      watch.start();
    }
  }

  private void watchLoop() {
    while (!closed) {
      java.util.concurrent.locks.LockSupport.parkNanos(WATCH_PERIOD.toNanos());
      for (java.util.Map.Entry<String, long[]> e : kept.entrySet()) {
        if (!io.micropod.internal.state.ProcStat.isAlive(e.getValue()[0], e.getValue()[1])
            && kept.remove(e.getKey(), e.getValue())) {
          log.info("network {}: detached pod {} left (its VMM, process {}, exited)", network.name(), e.getKey(),
              e.getValue()[0]);
          for (Peer p : peers) {
            p.forget(e.getKey());
          }
          network.detach(e.getKey());
        }
      }
    }
  }

  /** Pushes {@code members} (of membership {@code version}) to every peer. */
  void broadcast(long version, List<LocalNetwork.Member> members) {
    ObjectNode push = JSON.createObjectNode();
    push.put("version", version);
    push.set("members", toJson(members));
    for (Peer p : peers) {
      p.send(push);
    }
  }

  /** Closes the socket and every connection (peers learn that the network is gone). Idempotent. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      log.debug("network {}: closing the control socket: {}", network.name(), e.toString());
    }
    for (Peer p : peers) {
      p.close();
    }
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      log.debug("network {}: cannot delete {}: {}", network.name(), socket, e.toString());
    }
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        SocketChannel ch = server.accept();
        Peer p = new Peer(ch);
        peers.add(p);
        Thread t = new Thread(p::readLoop, "micropod-net-" + network.name() + "-peer");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (!closed) {
          log.warn("network {}: the control socket {} stopped accepting: {}", network.name(), socket,
              e.toString());
        }
        return;
      }
    }
  }

  /**
   * Writes with the channel itself: the streams of {@link Channels} share the channel's blocking
   * lock, so a write through one would wait for the reader thread's blocked read.
   */
  static void writeFully(SocketChannel channel, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }

  static ArrayNode toJson(List<LocalNetwork.Member> members) {
    ArrayNode a = JSON.createArrayNode();
    for (LocalNetwork.Member m : members) {
      a.add(toJson(m));
    }
    return a;
  }

  static ObjectNode toJson(LocalNetwork.Member m) {
    ObjectNode o = JSON.createObjectNode();
    o.put("pod", m.podId());
    o.put("address", m.address());
    o.put("mac", m.mac());
    o.put("host", m.host());
    ArrayNode aliases = o.putArray("aliases");
    m.aliases().forEach(aliases::add);
    return o;
  }

  static LocalNetwork.Member member(JsonNode o) {
    List<String> aliases = new ArrayList<>();
    o.path("aliases").forEach(a -> aliases.add(a.asText()));
    return new LocalNetwork.Member(o.path("pod").asText(), List.copyOf(aliases), o.path("host").asInt(),
        o.path("mac").asText(), o.path("address").asText());
  }

  static List<LocalNetwork.Member> members(JsonNode a) {
    List<LocalNetwork.Member> list = new ArrayList<>();
    a.forEach(o -> list.add(member(o)));
    return list;
  }

  /** One connected process. */
  private final class Peer {
    private final SocketChannel channel;
      private final Set<String> pods = new LinkedHashSet<>();
    private volatile long pid = -1;

    Peer(SocketChannel channel) {
      this.channel = channel;
    }

    void readLoop() {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          handle(JSON.readTree(line));
        }
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          log.debug("network {}: peer {} connection ended: {}", network.name(), pid, e.toString());
        }
      } finally {
        close();
        peers.remove(this);
        List<String> left;
        synchronized (pods) {
          left = new ArrayList<>(pods);
          pods.clear();
        }
        left.removeIf(kept::containsKey); // detached pods stay while their VMM runs
        if (!left.isEmpty() && !closed) {
          log.info("network {}: process {} left; its pods {} leave the network", network.name(), pid, left);
        }
        for (String pod : left) {
          network.detach(pod);
        }
      }
    }

    private void handle(JsonNode req) {
      long id = req.path("id").asLong();
      String op = req.path("op").asText();
      ObjectNode reply = JSON.createObjectNode();
      reply.put("reply", id);
      String pod = req.path("pod").asText();
      Runnable after = null;
      try {
        switch (op) {
          case "hello" -> pid = req.path("pid").asLong(-1);
          case "attach" -> {
            List<String> aliases = new ArrayList<>();
            req.path("aliases").forEach(a -> aliases.add(a.asText()));
            LocalNetwork.Member m = network.attach(pod, aliases);
            synchronized (pods) {
              pods.add(pod);
            }
            reply.set("member", toJson(m));
          }
          case "detach" -> {
            boolean mine;
            synchronized (pods) {
              mine = pods.remove(pod);
            }
            kept.remove(pod);
            if (mine) {
              after = () -> network.detach(pod);
            }
          }
          case "announce" -> {
            long vmm = req.path("vmmPid").asLong(-1);
            boolean mine;
            synchronized (pods) {
              mine = pods.contains(pod);
            }
            if (vmm > 0 && mine) {
              keep(pod, vmm, req.path("vmmStart").asLong(-1));
            }
            after = () -> network.announce(pod);
          }
          default -> throw new IllegalArgumentException("unknown op '" + op + "'");
        }
        reply.put("ok", true);
      } catch (NetworkException | IllegalArgumentException e) {
        reply.put("ok", false);
        reply.put("error", e.getMessage());
      }
      LocalNetwork.Snapshot s = network.snapshot();
      reply.put("version", s.version());
      reply.set("members", toJson(s.members()));
      send(reply);
      if (after != null) {
        after.run(); // after the reply: it may run the owner's hosts refreshers (agent calls)
      }
    }

    void send(JsonNode message) {
      byte[] line = (message.toString() + "\n").getBytes(StandardCharsets.UTF_8);
      synchronized (this) {
        try {
          writeFully(channel, line);
        } catch (IOException e) {
          log.debug("network {}: cannot write to peer {}: {}", network.name(), pid, e.toString());
          close();
        }
      }
    }

    void forget(String pod) {
      synchronized (pods) {
        pods.remove(pod);
      }
    }

    void close() {
      try {
        channel.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
