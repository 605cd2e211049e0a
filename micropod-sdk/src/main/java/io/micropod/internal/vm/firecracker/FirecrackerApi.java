package io.micropod.internal.vm.firecracker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.newsclub.net.unix.AFUNIXSocketFactory;

/**
 * Firecracker's REST API: HTTP/1.1 over the Unix socket given by {@code --api-sock}, as
 * documented in {@code docs/firecracker.md} (from Firecracker's {@code firecracker.yaml}).
 *
 * <p>OkHttp with a junixsocket socket factory; the host name in the URLs is ignored. Bodies are
 * sent as {@code byte[]} JSON. No call is retried automatically ({@code
 * retryOnConnectionFailure(false)}): a repeated {@code PUT /actions InstanceStart} would fail,
 * and one repeated after a lost answer would hide what happened. Each call has a deadline
 * ({@link #CALL_TIMEOUT}, snapshots {@link #SNAPSHOT_TIMEOUT}).
 *
 * <p><b>Never run against a real Firecracker here</b> (no KVM on the build machines): tested
 * against a contract peer ({@code FirecrackerContractPeer}, a test class) that checks methods,
 * paths, field names and types exactly. Thread-safe; {@link #close()} releases the connection
 * pool, not the VMM.
 */
public final class FirecrackerApi implements AutoCloseable {
  /** Deadline of one configuration or action call. */
  public static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
  /** Deadline of snapshot create/load (they write or map the guest's memory). */
  public static final Duration SNAPSHOT_TIMEOUT = Duration.ofMinutes(2);

  private static final MediaType JSON = MediaType.get("application/json");
  static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path socket;
  private final OkHttpClient http;

  public FirecrackerApi(Path socket) {
    this.socket = socket;
    this.http = new OkHttpClient.Builder()
        .socketFactory(new AFUNIXSocketFactory.FactoryArg(socket.toFile()))
        .protocols(java.util.List.of(Protocol.HTTP_1_1))
        .retryOnConnectionFailure(false)
        .connectionPool(new ConnectionPool(1, 30, TimeUnit.SECONDS))
        .connectTimeout(Duration.ofSeconds(2))
        .readTimeout(SNAPSHOT_TIMEOUT)
        .writeTimeout(Duration.ofSeconds(10))
        .callTimeout(SNAPSHOT_TIMEOUT)
        .build();
  }

  public Path socket() {
    return socket;
  }

  /** A JSON object to fill. */
  public static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  // ---- configuration (before InstanceStart) ----------------------------------------------

  /** {@code PUT /boot-source}. */
  public void putBootSource(Path kernel, String bootArgs, Path initrd) throws FirecrackerApiException {
    ObjectNode b = object().put("kernel_image_path", kernel.toString()).put("boot_args", bootArgs);
    if (initrd != null) {
      b.put("initrd_path", initrd.toString());
    }
    put("/boot-source", b);
  }

  /** {@code PUT /machine-config}: vCPUs (1 or even, at most 32) and memory in MiB. */
  public void putMachineConfig(int vcpus, int memMib, boolean trackDirtyPages) throws FirecrackerApiException {
    put("/machine-config", object().put("vcpu_count", vcpus).put("mem_size_mib", memMib)
        .put("smt", false).put("track_dirty_pages", trackDirtyPages));
  }

  /** {@code PUT /drives/{id}}. */
  public void putDrive(String driveId, Path file, boolean root, boolean readOnly) throws FirecrackerApiException {
    put("/drives/" + driveId, object().put("drive_id", driveId).put("path_on_host", file.toString())
        .put("is_root_device", root).put("is_read_only", readOnly));
  }

  /** {@code PUT /vsock}: hybrid vsock whose host end is the Unix socket {@code udsPath}. */
  public void putVsock(int guestCid, Path udsPath) throws FirecrackerApiException {
    put("/vsock", object().put("guest_cid", guestCid).put("uds_path", udsPath.toString()));
  }

  /** {@code PUT /network-interfaces/{id}} on the TAP device {@code hostDevName}. */
  public void putNetworkInterface(String ifaceId, String hostDevName, String guestMac)
      throws FirecrackerApiException {
    ObjectNode b = object().put("iface_id", ifaceId).put("host_dev_name", hostDevName);
    if (guestMac != null) {
      b.put("guest_mac", guestMac);
    }
    put("/network-interfaces/" + ifaceId, b);
  }

  /** {@code PUT /logger}: the file must exist. */
  public void putLogger(Path logPath, String level) throws FirecrackerApiException {
    put("/logger", object().put("log_path", logPath.toString()).put("level", level));
  }

  /** {@code PUT /metrics}: the file must exist. */
  public void putMetrics(Path metricsPath) throws FirecrackerApiException {
    put("/metrics", object().put("metrics_path", metricsPath.toString()));
  }

  // ---- actions and the running VM ---------------------------------------------------------

  /** {@code PUT /actions} with {@code action_type} {@code InstanceStart}, {@code SendCtrlAltDel} or {@code FlushMetrics}. */
  public void action(String actionType) throws FirecrackerApiException {
    put("/actions", object().put("action_type", actionType));
  }

  /** {@code PATCH /vm} {@code {"state": "Paused"}}. */
  public void pause() throws FirecrackerApiException {
    call("PATCH", "/vm", object().put("state", "Paused"), CALL_TIMEOUT);
  }

  /** {@code PATCH /vm} {@code {"state": "Resumed"}}. */
  public void resume() throws FirecrackerApiException {
    call("PATCH", "/vm", object().put("state", "Resumed"), CALL_TIMEOUT);
  }

  /** {@code PUT /snapshot/create} of a paused VM: {@code Full} or {@code Diff}. */
  public void createSnapshot(Path snapshot, Path memFile, String type) throws FirecrackerApiException {
    call("PUT", "/snapshot/create", object().put("snapshot_path", snapshot.toString())
        .put("mem_file_path", memFile.toString()).put("snapshot_type", type), SNAPSHOT_TIMEOUT);
  }

  /**
   * {@code PUT /snapshot/load} into a fresh Firecracker (before any configuration), memory from a
   * file; {@code vsockUds}, when not null, becomes the restored VM's hybrid-vsock socket
   * ({@code vsock_override}, Firecracker 1.16.0+). Vsock connections do not survive a restore:
   * reconnect after it.
   */
  public void loadSnapshot(Path snapshot, Path memFile, boolean resume, Path vsockUds)
      throws FirecrackerApiException {
    loadSnapshot(snapshot, memFile, resume, vsockUds, java.util.Map.of());
  }

  /**
   * {@link #loadSnapshot(Path, Path, boolean, Path)} with {@code network_overrides}: each entry,
   * interface id to TAP name, points the restored VM's interface at that TAP instead of the one
   * recorded in the snapshot (left out when empty; Firecracker rejects fields it does not know).
   */
  public void loadSnapshot(Path snapshot, Path memFile, boolean resume, Path vsockUds,
      java.util.Map<String, String> networkOverrides) throws FirecrackerApiException {
    ObjectNode b = object().put("snapshot_path", snapshot.toString());
    b.putObject("mem_backend").put("backend_type", "File").put("backend_path", memFile.toString());
    b.put("resume_vm", resume);
    if (vsockUds != null) {
      b.putObject("vsock_override").put("uds_path", vsockUds.toString());
    }
    if (!networkOverrides.isEmpty()) {
      com.fasterxml.jackson.databind.node.ArrayNode a = b.putArray("network_overrides");
      networkOverrides.forEach((iface, tap) -> a.addObject().put("iface_id", iface).put("host_dev_name", tap));
    }
    call("PUT", "/snapshot/load", b, SNAPSHOT_TIMEOUT);
  }

  /** {@code GET /version}: the release of the Firecracker serving this socket. */
  public FirecrackerVersion version() throws FirecrackerApiException {
    JsonNode v = call("GET", "/version", null, CALL_TIMEOUT);
    if (v == null || !v.path("firecracker_version").isTextual()) {
      throw new FirecrackerApiException("GET", "/version", 200, "no firecracker_version in " + v, null);
    }
    try {
      return FirecrackerVersion.parse(v.get("firecracker_version").asText());
    } catch (IllegalArgumentException e) {
      throw new FirecrackerApiException("GET", "/version", 200, e.getMessage(), null);
    }
  }

  /** {@code GET /}: {@code id}, {@code state}, {@code vmm_version}. */
  public JsonNode instanceInfo() throws FirecrackerApiException {
    return call("GET", "/", null, CALL_TIMEOUT);
  }

  private void put(String path, ObjectNode body) throws FirecrackerApiException {
    call("PUT", path, body, CALL_TIMEOUT);
  }

  /** One call; the parsed body of a 200, null for a 204. */
  JsonNode call(String method, String path, ObjectNode body, Duration timeout) throws FirecrackerApiException {
    byte[] bytes;
    try {
      bytes = body == null ? null : MAPPER.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new FirecrackerApiException(method, path, 0, "", e);
    }
    Request request = new Request.Builder()
        .url("http://localhost" + path)
        .header("Accept", "application/json")
        .method(method, bytes == null ? null : RequestBody.create(bytes, JSON))
        .build();
    okhttp3.Call call = http.newCall(request);
    call.timeout().timeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    try (Response response = call.execute()) {
      ResponseBody rb = response.body();
      String text = rb == null ? "" : rb.string();
      if (response.isSuccessful()) {
        return text.isBlank() ? null : MAPPER.readTree(text);
      }
      throw new FirecrackerApiException(method, path, response.code(), faultMessage(text), null);
    } catch (FirecrackerApiException e) {
      throw e;
    } catch (IOException e) {
      throw new FirecrackerApiException(method, path, 0, "", e);
    }
  }

  /** The {@code fault_message} of an error body, else the body itself (trimmed). */
  static String faultMessage(String body) {
    if (body == null || body.isBlank()) {
      return "";
    }
    try {
      JsonNode n = MAPPER.readTree(body);
      if (n != null && n.hasNonNull("fault_message")) {
        return n.get("fault_message").asText();
      }
    } catch (IOException e) {
      // not JSON: give it as it came
    }
    String s = body.strip();
    return s.length() > 500 ? s.substring(0, 500) + "..." : s;
  }

  @Override
  public void close() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }
}
