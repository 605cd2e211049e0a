package io.micropod.internal.vm.firecracker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * STAND-IN for a real Firecracker's API server (none can run here: no KVM). HTTP/1.1 on a Unix
 * socket, with a small parser of its own, that checks every request against the API as
 * {@code docs/firecracker.md} (from Firecracker's {@code firecracker.yaml}) documents it: method
 * and path, JSON body field names and types, required fields, enum values, ranges, unknown
 * fields (Firecracker rejects them), {@code Content-Length} bodies (Firecracker's micro_http has
 * no chunked encoding) with {@code Content-Type: application/json} exactly (micro_http parses
 * media types without parameters), and the call order: configuration only before {@code InstanceStart},
 * {@code PATCH /vm} and {@code SendCtrlAltDel} only after, snapshot create only when paused,
 * snapshot load only into a fresh VMM. It answers like Firecracker: 204, 200 with a body for
 * {@code GET /}, 400 with {@code {"fault_message": "..."}}.
 */
final class FirecrackerContractPeer implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String DROP = "\u0000drop";

  /** One request as received, with the status answered and, for a 400, why. */
  record Exchange(String method, String path, JsonNode body, int status, String fault) {
    String call() {
      return method + " " + path;
    }
  }

  enum T { STRING, BOOL, INT, OBJECT, ARRAY }

  /** A field of a body: type, required, allowed values (null: any). */
  record F(T type, boolean required, Set<String> values) {
    static F str(boolean required) {
      return new F(T.STRING, required, null);
    }

    static F oneOf(boolean required, String... values) {
      return new F(T.STRING, required, Set.of(values));
    }

    static F bool() {
      return new F(T.BOOL, false, null);
    }

    static F integer(boolean required) {
      return new F(T.INT, required, null);
    }

    static F obj() {
      return new F(T.OBJECT, false, null);
    }

    static F array() {
      return new F(T.ARRAY, false, null);
    }
  }

  /** The documented bodies, by "METHOD /path" (drive and interface ids replaced by {id}). */
  static final Map<String, Map<String, F>> SCHEMA = new LinkedHashMap<>();

  static {
    SCHEMA.put("PUT /boot-source", Map.of("kernel_image_path", F.str(true), "boot_args", F.str(false),
        "initrd_path", F.str(false)));
    SCHEMA.put("PUT /drives/{id}", Map.of("drive_id", F.str(true), "is_root_device", new F(T.BOOL, true, null),
        "path_on_host", F.str(false), "is_read_only", F.bool(), "partuuid", F.str(false),
        "cache_type", F.oneOf(false, "Unsafe", "Writeback"), "io_engine", F.oneOf(false, "Sync", "Async"),
        "rate_limiter", F.obj()));
    SCHEMA.put("PUT /machine-config", Map.of("vcpu_count", F.integer(true), "mem_size_mib", F.integer(true),
        "smt", F.bool(), "track_dirty_pages", F.bool(), "huge_pages", F.oneOf(false, "None", "2M")));
    SCHEMA.put("PUT /vsock", Map.of("guest_cid", F.integer(true), "uds_path", F.str(true)));
    SCHEMA.put("PUT /network-interfaces/{id}", Map.of("iface_id", F.str(true), "host_dev_name", F.str(true),
        "guest_mac", F.str(false), "rx_rate_limiter", F.obj(), "tx_rate_limiter", F.obj()));
    SCHEMA.put("PUT /actions", Map.of("action_type",
        F.oneOf(true, "InstanceStart", "SendCtrlAltDel", "FlushMetrics")));
    SCHEMA.put("PATCH /vm", Map.of("state", F.oneOf(true, "Paused", "Resumed")));
    SCHEMA.put("PUT /snapshot/create", Map.of("snapshot_path", F.str(true), "mem_file_path", F.str(true),
        "snapshot_type", F.oneOf(false, "Full", "Diff")));
    SCHEMA.put("PUT /snapshot/load", Map.of("snapshot_path", F.str(true), "mem_backend", F.obj(),
        "resume_vm", F.bool(), "vsock_override", F.obj(), "network_overrides", F.array()));
    SCHEMA.put("PUT /logger", Map.of("log_path", F.str(false),
        "level", F.oneOf(false, "Error", "Warning", "Info", "Debug", "Trace", "Off"),
        "show_level", F.bool(), "show_log_origin", F.bool(), "module", F.str(false)));
    SCHEMA.put("PUT /metrics", Map.of("metrics_path", F.str(true)));
    SCHEMA.put("GET /", Map.of());
    SCHEMA.put("GET /version", Map.of());
  }

  private static final Set<String> PRE_BOOT = Set.of("PUT /boot-source", "PUT /drives/{id}", "PUT /machine-config",
      "PUT /vsock", "PUT /network-interfaces/{id}", "PUT /logger", "PUT /metrics");

  private final Path socket;
  private final ServerSocketChannel server;
  private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
  private final Map<String, String> faults = new ConcurrentHashMap<>();
  private final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();
  private final List<Consumer<Exchange>> listeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<Exchange>> beforeAnswer = new CopyOnWriteArrayList<>();
  private volatile String state = "Not started";
  private volatile boolean configured;
  private volatile boolean bootSourceSet;
  private volatile JsonNode vsock;
  private volatile JsonNode logger;
  private volatile JsonNode machineConfig;
  private volatile String version = "1.16.1";
  /** Whether logger and metrics were configured in this VMM before its snapshot load. */
  private volatile boolean loggerBeforeLoad;
  private volatile boolean metricsBeforeLoad;
  private volatile boolean metricsSet;

  private FirecrackerContractPeer(Path socket, ServerSocketChannel server) {
    this.socket = socket;
    this.server = server;
  }

  static FirecrackerContractPeer start(Path socket) throws IOException {
    FirecrackerContractPeer peer = bind(socket);
    peer.serve();
    return peer;
  }

  /**
   * Listens on {@code socket} but answers nothing before {@link #serve()}: a caller's knobs and
   * listeners are in place before the first request (a client that connected at once waits).
   */
  static FirecrackerContractPeer bind(Path socket) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    return new FirecrackerContractPeer(socket, server);
  }

  /** Starts answering the connections of {@link #bind}'s socket. */
  void serve() {
    Thread t = new Thread(this::acceptLoop, "fc-contract-peer");
    t.setDaemon(true);
    t.start();
  }

  Path socket() {
    return socket;
  }

  /**
   * Plays Firecracker {@code version} ("1.15.0"; default 1.16.1): {@code GET /version} answers it,
   * and the load fields of later releases are unknown fields (400), as Firecracker rejects them.
   */
  void playVersion(String version) {
    this.version = version;
  }

  /** Whether {@code PUT /logger} and {@code PUT /metrics} came before the snapshot load. */
  boolean loggerAndMetricsBeforeLoad() {
    return loggerBeforeLoad && metricsBeforeLoad;
  }

  /** Makes the next {@code call} ("PUT /machine-config") fail with 400 and {@code faultMessage}. */
  void failNext(String call, String faultMessage) {
    faults.put(call, faultMessage);
  }

  /**
   * Makes the next {@code call} get no answer at all: the connection is closed after the request
   * was read (a VMM that died mid-call). Counts as received.
   */
  void dropNext(String call) {
    faults.put(call, DROP);
  }

  /**
   * Called for each request before it is answered (on the connection's thread): what Firecracker
   * has done by the time it answers (a snapshot's files written, its vsock reset).
   */
  void beforeAnswer(Consumer<Exchange> listener) {
    beforeAnswer.add(listener);
  }

  /** Called after each answered request (on the connection's thread). */
  void onExchange(Consumer<Exchange> listener) {
    listeners.add(listener);
  }

  List<Exchange> exchanges() {
    return List.copyOf(exchanges);
  }

  /** The calls ("PUT /vsock") answered 2xx, in order. */
  List<String> acceptedCalls() {
    return exchanges.stream().filter(e -> e.status() > 0 && e.status() < 300).map(Exchange::call).toList();
  }

  /** Every 4xx answered, with why: a test asserts this is empty when it expects the contract kept. */
  List<String> violations() {
    return exchanges.stream().filter(e -> e.status() >= 400 && !e.fault().startsWith("injected:"))
        .map(e -> e.call() + " -> " + e.status() + ": " + e.fault()).toList();
  }

  String state() {
    return state;
  }

  JsonNode vsock() {
    return vsock;
  }

  /** The last {@code PUT /machine-config} accepted; null before. */
  JsonNode machineConfig() {
    return machineConfig;
  }

  JsonNode logger() {
    return logger;
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel c = server.accept();
        clients.add(c);
        Thread t = new Thread(() -> serve(c), "fc-contract-peer-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(SocketChannel c) {
    try (c; InputStream in = Channels.newInputStream(c); OutputStream out = Channels.newOutputStream(c)) {
      while (true) {
        String requestLine = readLine(in);
        if (requestLine == null) {
          return;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h; (h = readLine(in)) != null && !h.isEmpty(); ) {
          int colon = h.indexOf(':');
          headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
        }
        byte[] body = new byte[0];
        String problem = null;
        if (headers.containsKey("transfer-encoding")) {
          problem = "chunked bodies are not supported (Firecracker's micro_http needs Content-Length)";
        } else if (headers.containsKey("content-length")) {
          body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
        }
        if (body.length > 0 && !"application/json".equals(headers.get("content-type"))) {
          // Firecracker's micro_http knows only application/json and text/plain, with no parameters
          problem = "Invalid content type: " + headers.get("content-type");
        }
        String accept = headers.get("accept");
        if (accept != null && !accept.equals("application/json") && !accept.equals("text/plain")) {
          problem = "Unsupported media type in Accept: " + accept;
        }
                String[] parts = requestLine.split(" ");
        if (parts.length != 3 || !parts[2].equals("HTTP/1.1")) {
          problem = "bad request line: " + requestLine;
        }
        Exchange ex = handle(parts[0], parts.length > 1 ? parts[1] : "", body, problem);
        exchanges.add(ex);
        if (ex.status() == 0) {
          return;
        }
        for (Consumer<Exchange> l : beforeAnswer) {
          l.accept(ex);
        }
        respond(out, ex);
        for (Consumer<Exchange> l : listeners) {
          l.accept(ex);
        }
      }
    } catch (IOException e) {
      // client went away
    } finally {
      clients.remove(c);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int ch;
    while ((ch = in.read()) >= 0) {
      if (ch == '\n') {
        String s = b.toString(StandardCharsets.US_ASCII);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(ch);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.US_ASCII);
  }

  private void respond(OutputStream out, Exchange ex) throws IOException {
    String head;
    byte[] body = new byte[0];
    if (ex.status() == 204) {
      head = "HTTP/1.1 204 No Content\r\nServer: Firecracker API (MicroPod stand-in)\r\n\r\n";
    } else {
      if (ex.status() == 200 && ex.path().equals("/version")) {
        body = MAPPER.writeValueAsBytes(MAPPER.createObjectNode().put("firecracker_version", version));
      } else if (ex.status() == 200) {
        ObjectNode info = MAPPER.createObjectNode().put("id", "anonymous-instance").put("state", state)
            .put("vmm_version", "stand-in").put("app_name", "Firecracker");
        body = MAPPER.writeValueAsBytes(info);
      } else {
        body = MAPPER.writeValueAsBytes(MAPPER.createObjectNode().put("fault_message", ex.fault()));
      }
      head = "HTTP/1.1 " + ex.status() + (ex.status() == 200 ? " OK" : " Bad Request")
          + "\r\nServer: Firecracker API (MicroPod stand-in)\r\nContent-Type: application/json\r\nContent-Length: "
          + body.length + "\r\n\r\n";
    }
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  private synchronized Exchange handle(String method, String path, byte[] raw, String problem) {
    if (problem != null) {
      return new Exchange(method, path, null, 400, problem);
    }
    String key = schemaKey(method, path);
    JsonNode body = null;
    if (raw.length > 0) {
      try {
        body = MAPPER.readTree(raw);
      } catch (IOException e) {
        return new Exchange(method, path, null, 400, "body is not JSON: " + e.getMessage());
      }
    }
    Map<String, F> schema = SCHEMA.get(key);
    if (schema == null) {
      return new Exchange(method, path, body, 400, "Invalid request method and/or path: " + method + " " + path);
    }
    String injected = faults.remove(method + " " + path);
    if (DROP.equals(injected)) {
      return new Exchange(method, path, body, 0, "injected: dropped");
    }
    if (injected != null) {
      return new Exchange(method, path, body, 400, "injected: " + injected);
    }
    if (method.equals("GET")) {
      return new Exchange(method, path, null, 200, "");
    }
    String bad = checkBody(key, path, body, schema);
    if (bad == null) {
      bad = checkVersion(key, body);
    }
    if (bad == null) {
      bad = checkState(key, body);
    }
    if (bad != null) {
      return new Exchange(method, path, body, 400, bad);
    }
    apply(key, body);
    return new Exchange(method, path, body, 204, "");
  }

  private static String schemaKey(String method, String path) {
    if (path.startsWith("/drives/") && path.length() > 8) {
      return method + " /drives/{id}";
    }
    if (path.startsWith("/network-interfaces/") && path.length() > 20) {
      return method + " /network-interfaces/{id}";
    }
    return method + " " + path;
  }

  private static String checkBody(String key, String path, JsonNode body, Map<String, F> schema) {
    if (body == null || !body.isObject()) {
      return "the body must be a JSON object";
    }
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!schema.containsKey(name)) {
        return "unknown field `" + name + "`, expected one of " + schema.keySet();
      }
    }
    for (Map.Entry<String, F> e : schema.entrySet()) {
      JsonNode v = body.get(e.getKey());
      F f = e.getValue();
      if (v == null || v.isNull()) {
        if (f.required()) {
          return "missing field `" + e.getKey() + "`";
        }
        continue;
      }
      boolean typeOk = switch (f.type()) {
        case STRING -> v.isTextual();
        case BOOL -> v.isBoolean();
        case INT -> v.isIntegralNumber();
        case OBJECT -> v.isObject();
        case ARRAY -> v.isArray();
      };
      if (!typeOk) {
        return "field `" + e.getKey() + "` must be " + f.type() + ", got " + v;
      }
      if (f.values() != null && !f.values().contains(v.asText())) {
        return "field `" + e.getKey() + "`: unknown variant `" + v.asText() + "`, expected one of " + f.values();
      }
    }
    if (key.equals("PUT /drives/{id}") && !path.substring("/drives/".length()).equals(body.get("drive_id").asText())) {
      return "The id from the path does not match the id from the body!";
    }
    if (key.equals("PUT /network-interfaces/{id}")
        && !path.substring("/network-interfaces/".length()).equals(body.get("iface_id").asText())) {
      return "The id from the path does not match the id from the body!";
    }
    if (key.equals("PUT /network-interfaces/{id}") && body.has("guest_mac")
        && !body.get("guest_mac").asText().matches("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")) {
      // Firecracker's MacAddr deserializer: six colon-separated hex bytes
      return "Invalid MAC address: " + body.get("guest_mac").asText();
    }
    if (key.equals("PUT /machine-config")) {
      int n = body.get("vcpu_count").asInt();
      if (n < 1 || n > 32 || (n > 1 && n % 2 != 0)) {
        return "The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.";
      }
      if (body.get("mem_size_mib").asInt() < 1) {
        return "The memory size (MiB) is invalid.";
      }
    }
    if (key.equals("PUT /vsock") && body.get("guest_cid").asLong() < 3) {
      return "guest_cid must be >= 3";
    }
    if (key.equals("PUT /snapshot/load")) {
      JsonNode mb = body.get("mem_backend");
      if (mb == null || !mb.path("backend_type").isTextual() || !Set.of("File", "Uffd").contains(mb.path("backend_type").asText())
          || !mb.path("backend_path").isTextual() || mb.size() != 2) {
        return "mem_backend must be {backend_type: File|Uffd, backend_path: string}: " + mb;
      }
      JsonNode no = body.get("network_overrides");
      if (no != null) {
        for (JsonNode o : no) {
          if (!o.isObject() || !o.path("iface_id").isTextual() || !o.path("host_dev_name").isTextual() || o.size() != 2) {
            return "network_overrides must be [{iface_id: string, host_dev_name: string}]: " + no;
          }
        }
      }
      JsonNode vo = body.get("vsock_override");
      if (vo != null && (!vo.path("uds_path").isTextual() || vo.size() != 1)) {
        return "vsock_override must be {uds_path: string}: " + vo;
      }
    }
    return null;
  }

  /** Fields later releases added are unknown to earlier ones (Firecracker rejects unknown fields). */
  private String checkVersion(String key, JsonNode body) {
    if (!key.equals("PUT /snapshot/load")) {
      return null;
    }
    FirecrackerVersion v = FirecrackerVersion.parse(version);
    if (body.has("vsock_override") && !v.atLeast(FirecrackerVersion.VSOCK_OVERRIDE)) {
      return "unknown field `vsock_override` (Firecracker " + version + ")";
    }
    if (body.has("network_overrides") && !v.atLeast(FirecrackerVersion.NETWORK_OVERRIDES)) {
      return "unknown field `network_overrides` (Firecracker " + version + ")";
    }
    return null;
  }

  private String checkState(String key, JsonNode body) {
    boolean started = !state.equals("Not started");
    if (PRE_BOOT.contains(key) && started) {
      return "The requested operation is not supported after starting the microVM.";
    }
    switch (key) {
      case "PUT /actions" -> {
        String a = body.get("action_type").asText();
        if (a.equals("InstanceStart")) {
          if (started) {
            return "The requested operation is not supported after starting the microVM.";
          }
          if (!bootSourceSet) {
            return "Cannot start microvm without kernel configuration.";
          }
        } else if (!started) {
          return "The requested operation is not supported before starting the microVM.";
        }
      }
      case "PATCH /vm" -> {
        if (!started) {
          return "The requested operation is not supported before starting the microVM.";
        }
      }
      case "PUT /snapshot/create" -> {
        if (!state.equals("Paused")) {
          return "Cannot create a snapshot of a running microVM: pause it first.";
        }
      }
      case "PUT /snapshot/load" -> {
        if (started || configured) {
          return "Loading a microVM snapshot not allowed after configuring boot-specific resources.";
        }
      }
      default -> {
        // configuration before start: fine
      }
    }
    return null;
  }

  private void apply(String key, JsonNode body) {
    switch (key) {
      case "PUT /boot-source" -> {
        bootSourceSet = true;
        configured = true;
      }
      case "PUT /vsock" -> {
        vsock = body;
        configured = true;
      }
      case "PUT /logger" -> logger = body;
      case "PUT /machine-config" -> {
        machineConfig = body;
        configured = true;
      }
      case "PUT /metrics" -> metricsSet = true;
      case "PUT /actions" -> {
        if (body.get("action_type").asText().equals("InstanceStart")) {
          state = "Running";
        }
      }
      case "PATCH /vm" -> state = body.get("state").asText().equals("Paused") ? "Paused" : "Running";
      case "PUT /snapshot/load" -> {
        // logger and metrics are not in a snapshot: only what this VMM was told before counts
        loggerBeforeLoad = logger != null;
        metricsBeforeLoad = metricsSet;
        state = body.path("resume_vm").asBoolean() ? "Running" : "Paused";
      }
      default -> {
        if (PRE_BOOT.contains(key) && !key.equals("PUT /metrics")) {
          configured = true;
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (SocketChannel c : new ArrayList<>(clients)) {
      c.close();
    }
    Files.deleteIfExists(socket);
  }
}
