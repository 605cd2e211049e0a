package io.micropod.internal.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * A QEMU Machine Protocol client on a pod's QMP socket: one command at a time, each answered
 * within the stated timeout; asynchronous events are read and skipped. Descriptors are passed
 * with SCM_RIGHTS ({@code getfd}): QEMU runs under {@code -sandbox ...,spawn=deny}, so migration
 * goes to a descriptor the host opened, never to a command QEMU would run.
 */
final class Qmp implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** How long one command may take to be answered (stop, cont, getfd: milliseconds). */
  static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

  private final Path socket;
  private final AFUNIXSocket s;
  private final BufferedReader in;
  private final OutputStream out;

  private Qmp(Path socket, AFUNIXSocket s) throws IOException {
    this.socket = socket;
    this.s = s;
    this.in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
    this.out = s.getOutputStream();
  }

  /**
   * Connects, reads the greeting and leaves capabilities negotiation mode.
   *
   * @throws IOException naming the socket when QEMU does not answer within {@link #COMMAND_TIMEOUT}
   */
  static Qmp connect(Path socket) throws IOException {
    AFUNIXSocket s = AFUNIXSocket.newInstance();
    try {
      s.connect(AFUNIXSocketAddress.of(socket.toFile()), (int) COMMAND_TIMEOUT.toMillis());
      s.setSoTimeout((int) COMMAND_TIMEOUT.toMillis());
      Qmp q = new Qmp(socket, s);
      q.readMessage(); // the greeting
      q.execute("qmp_capabilities", Map.of());
      return q;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** Runs {@code command}; returns its {@code return} value. */
  JsonNode execute(String command, Map<String, ?> arguments) throws IOException {
    return execute(command, arguments, null);
  }

  /**
   * Runs {@code command}, passing {@code fd} along (null: none).
   *
   * @throws IOException when QEMU answers with an error (its class and description) or not in time
   */
  synchronized JsonNode execute(String command, Map<String, ?> arguments, FileDescriptor fd) throws IOException {
    ObjectNode msg = JSON.createObjectNode();
    msg.put("execute", command);
    if (!arguments.isEmpty()) {
      msg.set("arguments", JSON.valueToTree(arguments));
    }
    if (fd != null) {
      s.setOutboundFileDescriptors(fd);
    }
    out.write(JSON.writeValueAsBytes(msg));
    out.flush();
    while (true) {
      JsonNode r = readMessage();
      if (r.has("event")) {
        continue;
      }
      if (r.has("error")) {
        throw new IOException("QEMU refused " + command + " on " + socket + ": "
            + r.get("error").path("class").asText() + ": " + r.get("error").path("desc").asText());
      }
      return r.path("return");
    }
  }

  private JsonNode readMessage() throws IOException {
    String line;
    try {
      line = in.readLine();
    } catch (SocketTimeoutException e) {
      throw new IOException("QEMU did not answer on its QMP socket " + socket + " within "
          + COMMAND_TIMEOUT.toSeconds() + " s", e);
    }
    if (line == null) {
      throw new IOException("QEMU closed its QMP socket " + socket + " (it exited?)");
    }
    return JSON.readTree(line);
  }

  @Override
  public void close() throws IOException {
    s.close();
  }
}
