package io.micropod.internal.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micropod.NetworkException;
import io.micropod.event.Phase;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's connection to the {@link NetworkControl} socket of a network that another
 * process owns (protocol there). Requests wait at most {@link #REQUEST_DEADLINE} for their reply;
 * nothing is retried (an attach that timed out may have happened: the owner detaches the pod
 * when this connection closes). One reader thread {@code micropod-net-<name>-link} (daemon)
 * takes replies and membership pushes; when the connection ends without {@link #close()}, the
 * owner closed the network or died, and {@code onGone} runs once. Thread-safe.
 */
final class NetworkLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NetworkLink.class);
  /** Deadline of one request to the owner, connect included. */
  static final Duration REQUEST_DEADLINE = Duration.ofSeconds(30);

  private final String name;
  private final Path socket;
  private final SocketChannel channel;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final BiConsumer<Long, List<LocalNetwork.Member>> onMembers;
  private final Runnable onGone;
  private volatile boolean closed;

  private NetworkLink(String name, Path socket, SocketChannel channel,
      BiConsumer<Long, List<LocalNetwork.Member>> onMembers, Runnable onGone) {
    this.name = name;
    this.socket = socket;
    this.channel = channel;
    this.onMembers = onMembers;
    this.onGone = onGone;
  }

  /**
   * Connects to the owner's control socket and says hello; the reply's membership goes to
   * {@code onMembers}.
   *
   * @throws NetworkException when the owner cannot be reached
   */
  static NetworkLink connect(String name, Path socket, long ownerPid,
      BiConsumer<Long, List<LocalNetwork.Member>> onMembers, Runnable onGone) {
    SocketChannel ch;
    try {
      ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      throw new NetworkException(name, "cannot join network " + name + ": its owner (process " + ownerPid
          + ") does not answer on " + socket + " (" + e.getMessage() + "); it may be closing the network: retry,"
          + " or create a new network", e);
    }
    NetworkLink link = new NetworkLink(name, socket, ch, onMembers, onGone);
    Thread t = new Thread(link::readLoop, "micropod-net-" + name + "-link");
    t.setDaemon(true);
    t.start();
    try {
      ObjectNode hello = NetworkControl.JSON.createObjectNode().put("op", "hello")
          .put("pid", ProcessHandle.current().pid());
      link.request(hello, null);
    } catch (RuntimeException e) {
      link.close();
      throw e;
    }
    return link;
  }

  /** Reserves an address on the owner's network for {@code podId}. */
  LocalNetwork.Member attach(String podId, List<String> aliases) {
    ObjectNode req = NetworkControl.JSON.createObjectNode().put("op", "attach").put("pod", podId);
    aliases.forEach(req.putArray("aliases")::add);
    return NetworkControl.member(request(req, podId).path("member"));
  }

  /** Gives {@code podId}'s address back. */
  void detach(String podId) {
    request(NetworkControl.JSON.createObjectNode().put("op", "detach").put("pod", podId), podId);
  }

  /**
   * Tells every member (in every process) that {@code podId} is up. A detached pod names its VMM
   * ({@code vmmPid} with start time {@code vmmStart}; -1 for others): the owner keeps it on the
   * network while that VMM runs, after this connection ends.
   */
  void announce(String podId, long vmmPid, long vmmStart) {
    ObjectNode req = NetworkControl.JSON.createObjectNode().put("op", "announce").put("pod", podId);
    if (vmmPid > 0) {
      req.put("vmmPid", vmmPid).put("vmmStart", vmmStart);
    }
    request(req, podId);
  }

  private JsonNode request(ObjectNode req, String podId) {
    long id = ids.incrementAndGet();
    req.put("id", id);
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      if (closed) {
        throw new IOException("the connection to the owner is closed");
      }
      byte[] line = (req.toString() + "\n").getBytes(StandardCharsets.UTF_8);
      synchronized (this) {
        NetworkControl.writeFully(channel, line);
      }
      JsonNode r = reply.get(REQUEST_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      if (r.has("members")) {
        onMembers.accept(r.path("version").asLong(), NetworkControl.members(r.path("members")));
      }
      if (!r.path("ok").asBoolean()) {
        throw new NetworkException(name, r.path("error").asText(), null, podId, Phase.VM_BOOT);
      }
      return r;
    } catch (IOException | ExecutionException e) {
      throw new NetworkException(name, "network " + name + " is gone: its owner closed it or exited ("
          + socket + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage())
          + "); create a new network", e, podId, Phase.VM_BOOT);
    } catch (TimeoutException e) {
      throw new NetworkException(name, "the owner of network " + name + " did not answer '" + req.path("op").asText()
          + "' within " + REQUEST_DEADLINE.toSeconds() + " s (" + socket + ")", e, podId, Phase.VM_BOOT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NetworkException(name, "interrupted while waiting for the owner of network " + name, e, podId,
          Phase.VM_BOOT);
    } finally {
      pending.remove(id);
    }
  }

  private void readLoop() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        JsonNode m = NetworkControl.JSON.readTree(line);
        if (m.has("reply")) {
          CompletableFuture<JsonNode> f = pending.get(m.path("reply").asLong());
          if (f != null) {
            f.complete(m);
          }
        } else if (m.has("members")) {
          onMembers.accept(m.path("version").asLong(), NetworkControl.members(m.path("members")));
        }
      }
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        log.debug("network {}: link to {} ended: {}", name, socket, e.toString());
      }
    }
    IOException gone = new IOException("the owner closed the connection");
    pending.values().forEach(f -> f.completeExceptionally(gone));
    if (!closed) {
      closed = true;
      close();
      onGone.run();
    }
  }

  /** Whether the connection is closed (by {@link #close()} or by the owner). */
  boolean isClosed() {
    return closed;
  }

  /** Leaves: the owner detaches this process's pods. Idempotent. */
  @Override
  public void close() {
    closed = true;
    try {
      channel.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
