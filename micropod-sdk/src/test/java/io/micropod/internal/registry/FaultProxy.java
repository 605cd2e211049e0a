package io.micropod.internal.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of a registry that misbehaves on purpose, for one blob path: it either
 * cuts (RST) the first {@code cutTimes} responses after {@code cutAfter} body bytes, or flips a
 * byte of every response body. Each request gets its own upstream connection
 * ({@code Connection: close} is forced), so faults hit exactly the matching request.
 */
public final class FaultProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int upstreamPort;
  private final String pathPart;
  private final int cutAfter;
  private final AtomicInteger cutsLeft;
  private final boolean flip;
  private final AtomicInteger matched = new AtomicInteger();
  private final Thread acceptor;

  private FaultProxy(int upstreamPort, String pathPart, int cutAfter, int cutTimes, boolean flip) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    this.upstreamPort = upstreamPort;
    this.pathPart = pathPart;
    this.cutAfter = cutAfter;
    this.cutsLeft = new AtomicInteger(cutTimes);
    this.flip = flip;
    this.acceptor = new Thread(this::acceptLoop, "fault-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Cuts the first {@code times} responses whose request line contains {@code pathPart}. */
  public static FaultProxy cutting(int upstreamPort, String pathPart, int afterBodyBytes, int times) throws IOException {
    return new FaultProxy(upstreamPort, pathPart, afterBodyBytes, times, false);
  }

  /** Flips one byte in the body of every response to a request containing {@code pathPart}. */
  public static FaultProxy corrupting(int upstreamPort, String pathPart) throws IOException {
    return new FaultProxy(upstreamPort, pathPart, 0, 0, true);
  }

  public String host() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** Requests that matched {@code pathPart}. */
  public int matched() {
    return matched.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Thread t = new Thread(() -> handle(client), "fault-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void handle(Socket client) {
    try (client; Socket up = new Socket("127.0.0.1", upstreamPort)) {
      InputStream cin = client.getInputStream();
      String head = readHead(cin);
      if (head == null) {
        return;
      }
      String requestLine = head.substring(0, head.indexOf("\r\n"));
      boolean match = requestLine.contains(pathPart);
      if (match) {
        matched.incrementAndGet();
      }
      StringBuilder rewritten = new StringBuilder();
      for (String line : head.split("\r\n")) {
        if (!line.toLowerCase().startsWith("connection:")) {
          rewritten.append(line).append("\r\n");
        }
      }
      rewritten.append("Connection: close\r\n\r\n");
      OutputStream uout = up.getOutputStream();
      uout.write(rewritten.toString().getBytes(StandardCharsets.ISO_8859_1));
      uout.flush();
      Thread pump = new Thread(() -> {
        try {
          cin.transferTo(uout);
        } catch (IOException ignored) {
          // connection ends
        }
      }, "fault-proxy-up");
      pump.setDaemon(true);
      pump.start();
      InputStream uin = up.getInputStream();
      OutputStream cout = client.getOutputStream();
      String respHead = readHead(uin);
      if (respHead == null) {
        return;
      }
      cout.write(respHead.getBytes(StandardCharsets.ISO_8859_1));
      boolean cut = match && !flip && cutsLeft.getAndDecrement() > 0;
      boolean corrupt = match && flip && respHead.startsWith("HTTP/1.1 20");
      long body = 0;
      byte[] buf = new byte[8192];
      int n;
      while ((n = uin.read(buf)) > 0) {
        if (corrupt && body <= 10 && body + n > 10) {
          buf[(int) (10 - body)] ^= 0x5a;
        }
        if (cut && body + n >= cutAfter) {
          int keep = (int) Math.max(0, cutAfter - body);
          cout.write(buf, 0, keep);
          cout.flush();
          client.setSoLinger(true, 0); // RST: "connection reset"
          return;
        }
        cout.write(buf, 0, n);
        body += n;
      }
      cout.flush();
    } catch (IOException ignored) {
      // a client or upstream went away
    }
  }

  /** Reads up to and including the blank line; returns null at EOF. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    int c;
    while ((c = in.read()) >= 0) {
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) ? state + 1
          : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
      if (state == 4) {
        return b.toString(StandardCharsets.ISO_8859_1);
      }
    }
    return null;
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
