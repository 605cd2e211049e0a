package io.micropod.examples.cli;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Redis's own client protocol (RESP2), as redis-cli speaks it: a command is an array of bulk
 * strings; a reply is a simple string, an error, an integer or a bulk string. So the test needs
 * no client package on the host. {@link #send} may be called many times before the replies are
 * read (pipelining).
 */
final class RespClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RespClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
  }

  /** Connects to {@code 127.0.0.1:port}; every read waits at most 60 s. */
  static RespClient connect(int port) throws IOException {
    Socket s = new Socket();
    try {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
      s.setSoTimeout(60_000);
      return new RespClient(s);
    } catch (IOException e) {
      s.close();
      throw e;
    }
  }

  /** Queues a command (strings as UTF-8, byte arrays as they are); {@link #read} gets its reply. */
  RespClient send(Object... args) throws IOException {
    out.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (Object a : args) {
      byte[] b = a instanceof byte[] bytes ? bytes : a.toString().getBytes(StandardCharsets.UTF_8);
      out.write(("$" + b.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(b);
      out.write('\r');
      out.write('\n');
    }
    return this;
  }

  /** Sends one command and reads its reply. */
  Object call(Object... args) throws IOException {
    return send(args).read();
  }

  /**
   * The next reply: a simple string as {@code String}, an integer as {@code Long}, a bulk string
   * as {@code byte[]} (null for none); an error reply throws.
   */
  Object read() throws IOException {
    out.flush();
    int type = in.read();
    String line = line();
    switch (type) {
      case '+':
        return line;
      case ':':
        return Long.parseLong(line);
      case '-':
        throw new IOException("redis error: " + line);
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        byte[] b = in.readNBytes(n);
        if (b.length != n || in.read() != '\r' || in.read() != '\n') {
          throw new EOFException("bulk reply of " + n + " bytes cut short");
        }
        return b;
      }
      case -1:
        throw new EOFException("the server closed the connection");
      default:
        throw new IOException("unexpected reply type " + (char) type + line);
    }
  }

  /** A bulk reply as text. */
  String readString() throws IOException {
    Object r = read();
    return r instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(r);
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c; (c = in.read()) != '\n'; ) {
      if (c < 0) {
        throw new EOFException("the server closed the connection mid-reply");
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
