package io.micropod.internal.transport;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host end of Firecracker's hybrid vsock ({@code docs/vsock.md} upstream, summarised in
 * {@code docs/firecracker.md}): connect to the Unix socket given as the VM's {@code uds_path},
 * write {@code CONNECT <port>\n}, read one line {@code OK <host_port>\n}; from then on the socket
 * is a raw byte stream to the guest's vsock port. Bytes the guest sent may arrive in the same
 * read as the {@code OK} line: they are kept in {@link Connection#leftover()}. Cloud Hypervisor
 * speaks the same protocol.
 *
 * <h2>Timeouts and retries</h2>
 * Each attempt has a connect stage ({@link Timeouts#connect()}, default 1 s) and an ack stage
 * ({@link Timeouts#ack()}, default 2 s). While the guest boots nothing listens on its port and
 * Firecracker closes the connection: attempts are repeated every {@link Timeouts#retryDelay()}
 * (default 50 ms) until {@link Timeouts#retryBudget()} (default 20 s; firecracker-go-sdk uses
 * 100 ms / 1 s / 20 s, our defaults are longer for slow shared hosts) or the caller's deadline
 * runs out. Only transient errors are retried: connection refused or reset, the socket file not
 * there yet, EOF or a timeout before the {@code OK} line. Anything else (a reply that is not
 * {@code OK <n>}) fails at once. Messages name the socket path, the port and the deadline.
 *
 * <p><b>Never run against a real Firecracker here</b> (no KVM): tested against a peer that
 * implements the documented handshake. Thread-safe (stateless).
 */
public final class HybridVsockConnector {
  private static final Logger log = LoggerFactory.getLogger(HybridVsockConnector.class);
  private static final int MAX_ACK_LINE = 64;

  /** Per-stage timeouts and the retry budget. */
  public record Timeouts(Duration connect, Duration ack, Duration retryBudget, Duration retryDelay) {
    public static final Timeouts DEFAULT = new Timeouts(
        Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(20), Duration.ofMillis(50));
  }

  /**
   * An established stream to the guest port. The caller owns {@code channel} (blocking mode) and
   * closes it; {@code leftover} holds guest bytes that came with the {@code OK} line (read it
   * first); {@code hostPort} is the number Firecracker gave in {@code OK <n>}.
   */
  public record Connection(SocketChannel channel, ByteBuffer leftover, long hostPort) {}

  private final Path udsPath;
  private final int port;
  private final Timeouts timeouts;

  public HybridVsockConnector(Path udsPath, int port, Timeouts timeouts) {
    if (port < 0) {
      throw new IllegalArgumentException("port < 0: " + port);
    }
    this.udsPath = udsPath;
    this.port = port;
    this.timeouts = timeouts;
  }

  public Path udsPath() {
    return udsPath;
  }

  public int port() {
    return port;
  }

  /**
   * Connects, retrying transient failures until the retry budget or {@code deadline} (the
   * earlier) has passed.
   *
   * @throws IOException the last failure, naming the socket, port and deadline
   */
  public Connection connect(Instant deadline) throws IOException, InterruptedException {
    Instant budget = Instant.now().plus(timeouts.retryBudget());
    Instant until = budget.isBefore(deadline) ? budget : deadline;
    int attempts = 0;
    while (true) {
      attempts++;
      try {
        return attempt();
      } catch (IOException e) {
        if (!isTransient(e)) {
          throw new IOException("hybrid vsock " + udsPath + " port " + port + ": " + e.getMessage(), e);
        }
        if (!Instant.now().plus(timeouts.retryDelay()).isBefore(until)) {
          throw new IOException("hybrid vsock " + udsPath + " port " + port + ": no connection before the deadline " + until
              + " (retry budget " + timeouts.retryBudget().toMillis() + " ms, connect timeout "
              + timeouts.connect().toMillis() + " ms, ack timeout " + timeouts.ack().toMillis() + " ms, "
              + attempts + " attempts); last error: " + e.getMessage(), e);
        }
        log.trace("hybrid vsock {} port {}: attempt {} failed ({}), retrying", udsPath, port, attempts, e.toString());
        LockSupport.parkNanos(timeouts.retryDelay().toNanos());
        if (Thread.interrupted()) {
          throw new InterruptedException("interrupted while connecting to hybrid vsock " + udsPath + " port " + port);
        }
      }
    }
  }

  /** One handshake, no retry. */
  Connection attempt() throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    boolean ok = false;
    try (Selector selector = Selector.open()) {
      ch.configureBlocking(false);
      long connectNanos = System.nanoTime() + timeouts.connect().toNanos();
      if (!ch.connect(UnixDomainSocketAddress.of(udsPath))) {
        SelectionKey key = ch.register(selector, SelectionKey.OP_CONNECT);
        while (!ch.finishConnect()) {
          long left = connectNanos - System.nanoTime();
          if (left <= 0) {
            throw new SocketTimeoutException("connect timed out after " + timeouts.connect().toMillis() + " ms");
          }
          selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
        key.cancel();
        selector.selectNow();
      }
      ByteBuffer out = ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII));
      while (out.hasRemaining()) {
        ch.write(out);
      }
      ByteBuffer in = ByteBuffer.allocate(4096);
      SelectionKey key = ch.register(selector, SelectionKey.OP_READ);
      long ackNanos = System.nanoTime() + timeouts.ack().toNanos();
      int newline = -1;
      while (newline < 0) {
        long left = ackNanos - System.nanoTime();
        if (left <= 0) {
          throw new AckTimeoutException("no OK line within the ack timeout of " + timeouts.ack().toMillis()
              + " ms (the guest may still be booting)");
        }
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        selector.selectedKeys().clear();
        int n = ch.read(in);
        if (n < 0) {
          throw new EOFException("connection closed before the OK line (nothing listens on guest port "
              + port + " yet?)");
        }
        for (int i = 0; i < in.position(); i++) {
          if (in.get(i) == '\n') {
            newline = i;
            break;
          }
        }
        if (newline < 0 && in.position() > MAX_ACK_LINE) {
          throw new ProtocolException("expected `OK <port>` but got " + quote(in, in.position()));
        }
      }
      String line = new String(in.array(), 0, newline, StandardCharsets.US_ASCII);
      long hostPort = parseOk(line);
      in.flip();
      in.position(newline + 1);
      ByteBuffer leftover = ByteBuffer.allocate(in.remaining());
      leftover.put(in).flip();
      key.cancel();
      selector.selectNow();
      ch.configureBlocking(true);
      ok = true;
      return new Connection(ch, leftover, hostPort);
    } finally {
      if (!ok) {
        ch.close();
      }
    }
  }

  static long parseOk(String line) throws ProtocolException {
    String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    if (l.startsWith("OK ")) {
      try {
        return Long.parseLong(l.substring(3).trim());
      } catch (NumberFormatException e) {
        // falls through
      }
    }
    throw new ProtocolException("expected `OK <port>` but got \"" + l + "\"");
  }

  private static String quote(ByteBuffer b, int n) {
    return "\"" + new String(b.array(), 0, Math.min(n, MAX_ACK_LINE), StandardCharsets.US_ASCII) + "...\"";
  }

  /** Transient: worth another attempt while the guest boots. */
  static boolean isTransient(IOException e) {
    if (e instanceof ProtocolException) {
      return false;
    }
    if (e instanceof EOFException || e instanceof SocketTimeoutException || e instanceof AckTimeoutException
        || e instanceof ConnectException) {
      return true;
    }
    String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
    return e instanceof SocketException
        && (m.contains("refused") || m.contains("reset") || m.contains("no such file") || m.contains("broken pipe"));
  }

  /** The peer answered something other than {@code OK <n>}: not retried. */
  static final class ProtocolException extends IOException {
    ProtocolException(String message) {
      super(message);
    }
  }

  /** No {@code OK} line within the ack timeout: retried while the budget lasts. */
  static final class AckTimeoutException extends IOException {
    AckTimeoutException(String message) {
      super(message);
    }
  }
}
