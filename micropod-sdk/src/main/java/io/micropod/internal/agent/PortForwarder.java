package io.micropod.internal.agent;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.v1.PortForwardOpen;
import io.micropod.agent.v1.PortForwardRequest;
import io.micropod.agent.v1.PortForwardResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One published port: listens on {@code 127.0.0.1:<hostPort>} and, per accepted connection,
 * opens a {@code PortForward} stream to the agent, which connects to
 * {@code 127.0.0.1:<containerPort>} in the guest. Bytes flow both ways under gRPC flow control:
 * the host socket is read only while the call is ready, and the next message from the agent is
 * requested only after the previous one was written to the host socket, so a connection buffers at
 * most one 32 KiB chunk each way here. A half-close on either side is passed on. Threads:
 * one acceptor, and one reader per connection ({@code micropod-<podId>-port-<n>}, daemons).
 * {@link #close()} stops accepting and closes every connection.
 */
public final class PortForwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PortForwarder.class);
  static final int CHUNK = 32 * 1024;

  private final String podId;
  private final int containerPort;
  private final ServerSocket server;
  private final Function<StreamObserver<PortForwardResponse>, StreamObserver<PortForwardRequest>> open;
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  /** Open connections allowed, shared by the pod's ports (AgentLimits.MAX_PORT_CONNECTIONS). */
  private final java.util.concurrent.Semaphore slots;

  /**
   * Binds at once.
   *
   * @param hostPort 0 for a random free port
   * @param open starts a PortForward call (the stub's {@code portForward})
   * @throws IOException when the host port cannot be bound (e.g. in use)
   */
  public PortForwarder(String podId, int hostPort, int containerPort,
      Function<StreamObserver<PortForwardResponse>, StreamObserver<PortForwardRequest>> open)
      throws IOException {
    this(podId, hostPort, containerPort, open,
        new java.util.concurrent.Semaphore(io.micropod.internal.agent.AgentLimits.MAX_PORT_CONNECTIONS));
  }

  /**
   * @param slots connections open at once, shared by all ports of a pod: a connection that finds
   *     none free is closed at once, so that a guest holding connections open cannot make the host
   *     keep unbounded threads and sockets
   */
  public PortForwarder(String podId, int hostPort, int containerPort,
      Function<StreamObserver<PortForwardResponse>, StreamObserver<PortForwardRequest>> open,
      java.util.concurrent.Semaphore slots) throws IOException {
    this.slots = slots;
    this.podId = podId;
    this.containerPort = containerPort;
    this.open = open;
    ServerSocket s = new ServerSocket();
    try {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort), 128);
    } catch (IOException e) {
      s.close();
      throw e;
    }
    this.server = s;
  }

  /** Starts accepting connections. */
  public PortForwarder start() {
    Thread t = new Thread(this::acceptLoop, "micropod-" + podId + "-port-" + hostPort());
    t.setDaemon(true);
    t.start();
    return this;
  }

  public int hostPort() {
    return server.getLocalPort();
  }

  public int containerPort() {
    return containerPort;
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("pod {}: port {} stopped accepting: {}", podId, hostPort(), e.toString());
        }
        return;
      }
      if (!slots.tryAcquire()) {
        log.warn("pod {}: port {}: refused a connection: the pod already has {} port-forward"
            + " connections open (the limit)", podId, hostPort(),
            io.micropod.internal.agent.AgentLimits.MAX_PORT_CONNECTIONS);
        closeQuietly(s);
        continue;
      }
      Connection c = null;
      try {
        s.setTcpNoDelay(true);
        c = new Connection(s);
        connections.add(c);
        c.start();
      } catch (IOException | RuntimeException e) {
        log.debug("pod {}: port {}: cannot forward a connection: {}", podId, hostPort(), e.toString());
        closeQuietly(s);
        if (c == null) {
          slots.release();
        } else {
          c.finish();
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      log.debug("pod {}: closing port {}: {}", podId, hostPort(), e.toString());
    }
    for (Connection c : connections) {
      c.abort("the pod is closing");
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  /** One TCP connection and its call. */
  final class Connection implements ClientResponseObserver<PortForwardRequest, PortForwardResponse> {
    private final Socket socket;
    private final Object ready = new Object();
    private volatile ClientCallStreamObserver<PortForwardRequest> call;
    private volatile boolean done;
    private boolean hostEof;
    private boolean guestEof;

    Connection(Socket socket) {
      this.socket = socket;
    }

    void start() throws IOException {
      StreamObserver<PortForwardRequest> requests = open.apply(this);
      synchronized (this) {
        requests.onNext(PortForwardRequest.newBuilder()
            .setOpen(PortForwardOpen.newBuilder().setPort(containerPort)).build());
      }
      Thread t = new Thread(this::pumpToGuest, "micropod-" + podId + "-port-" + hostPort() + "-conn");
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<PortForwardRequest> call) {
      this.call = call;
      call.disableAutoRequestWithInitial(1);
      call.setOnReadyHandler(() -> {
        synchronized (ready) {
          ready.notifyAll();
        }
      });
    }

    /** Host socket to guest: reads only while the call is ready. */
    private void pumpToGuest() {
      byte[] buf = new byte[CHUNK];
      try {
        InputStream in = socket.getInputStream();
        while (!done) {
          synchronized (ready) {
            while (!done && !call.isReady()) {
              ready.wait(50);
            }
          }
          if (done) {
            return;
          }
          int n = in.read(buf);
          if (n < 0) {
            break;
          }
          synchronized (this) {
            if (done) {
              return;
            }
            call.onNext(PortForwardRequest.newBuilder()
                .setData(UnsafeByteOperations.unsafeWrap(Arrays.copyOf(buf, n))).build());
          }
        }
        synchronized (this) {
          if (!done) {
            call.onCompleted(); // half-close: the agent shuts the guest socket's output
          }
          hostEof = true;
        }
      } catch (IOException | RuntimeException e) {
        abort("reading the host connection failed: " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        abort("interrupted");
      }
    }

    /** Guest to host socket: the next message is requested once this one is written. */
    @Override
    public void onNext(PortForwardResponse r) {
      try {
        OutputStream out = socket.getOutputStream();
        r.getData().writeTo(out);
        out.flush();
        call.request(1);
      } catch (IOException e) {
        abort("writing to the host connection failed: " + e);
      }
    }

    @Override
    public void onError(Throwable t) {
      log.debug("pod {}: port {} -> {}: {}", podId, hostPort(), containerPort, t.toString());
      finish();
    }

    @Override
    public void onCompleted() {
      boolean both;
      synchronized (this) {
        guestEof = true;
        both = hostEof;
      }
      if (both) {
        finish();
        return;
      }
      try {
        socket.shutdownOutput();
      } catch (IOException e) {
        finish();
      }
      // the call is over: nothing more can go to the guest; close once the host is done too
      // (a reader blocked on the host socket ends when the client closes).
      synchronized (this) {
        done = hostEof;
      }
      if (done) {
        finish();
      }
    }

    void abort(String why) {
      synchronized (this) {
        if (!done && call != null) {
          try {
            call.cancel(why, null);
          } catch (RuntimeException e) {
            // already over
          }
        }
      }
      finish();
    }

    private boolean released;

    private void finish() {
      synchronized (ready) {
        if (!released) {
          released = true;
          slots.release();
        }
      }
      done = true;
      closeQuietly(socket);
      connections.remove(this);
      synchronized (ready) {
        ready.notifyAll();
      }
    }
  }
}
