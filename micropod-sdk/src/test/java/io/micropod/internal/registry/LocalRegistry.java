package io.micropod.internal.registry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * A real registry for tests: Debian's {@code docker-registry} (the CNCF distribution registry)
 * serving on 127.0.0.1 at a free port from a config file in its own temporary directory, with
 * its own storage; optionally htpasswd basic auth (bcrypt, made with {@code htpasswd -B}).
 * {@link #close()} stops it and deletes the directory. Images are pushed through the real
 * registry API ({@link #push}).
 */
public final class LocalRegistry implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Path dir;
  private final int port;
  private final Process process;
  private final String user;
  private final String password;
  private final OkHttpClient http = new OkHttpClient.Builder().readTimeout(Duration.ofSeconds(60)).build();

  private LocalRegistry(Path dir, int port, Process process, String user, String password) {
    this.dir = dir;
    this.port = port;
    this.process = process;
    this.user = user;
    this.password = password;
  }

  /** An anonymous registry. */
  public static LocalRegistry start() throws IOException, InterruptedException {
    return start(null, null);
  }

  /** A registry that wants {@code user}/{@code password} (htpasswd, bcrypt) for every request. */
  public static LocalRegistry start(String user, String password) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("micropod-registry-");
    int port;
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      port = s.getLocalPort();
    }
    StringBuilder config = new StringBuilder()
        .append("version: 0.1\n")
        .append("log:\n  level: info\n  accesslog:\n    disabled: false\n")
        .append("storage:\n  filesystem:\n    rootdirectory: ").append(dir.resolve("data")).append('\n')
        .append("  delete:\n    enabled: true\n")
        .append("http:\n  addr: 127.0.0.1:").append(port).append('\n');
    if (user != null) {
      Path htpasswd = dir.resolve("htpasswd");
      Process p = new ProcessBuilder("htpasswd", "-Bbn", user, password)
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      byte[] line = p.getInputStream().readAllBytes();
      if (p.waitFor() != 0) {
        throw new IOException("htpasswd failed (install apache2-utils)");
      }
      Files.write(htpasswd, line);
      config.append("auth:\n  htpasswd:\n    realm: micropod-test\n    path: ").append(htpasswd).append('\n');
    }
    Path configFile = dir.resolve("config.yml");
    Files.writeString(configFile, config.toString());
    Process process = new ProcessBuilder("docker-registry", "serve", configFile.toString())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("registry.log").toFile())
        .start();
    LocalRegistry r = new LocalRegistry(dir, port, process, user, password);
    try {
      r.awaitReady();
    } catch (IOException | RuntimeException e) {
      r.close();
      throw e;
    }
    return r;
  }

  private void awaitReady() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new IOException("docker-registry exited: " + Files.readString(dir.resolve("registry.log")));
      }
      try (Response r = http.newCall(new Request.Builder().url(base() + "/v2/").build()).execute()) {
        if (r.code() == 200 || r.code() == 401) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("docker-registry did not answer on " + host() + " within " + START_TIMEOUT);
      }
      process.waitFor(100, TimeUnit.MILLISECONDS); // poll
    }
  }

  /** {@code 127.0.0.1:<port>}, the registry part of image references. */
  public String host() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  private String base() {
    return "http://" + host();
  }

  /** How many times a blob was served in full or in part (HTTP 200/206 to GET). */
  public long blobGets(String repository, String digest) throws IOException {
    String needle = "\"GET /v2/" + repository + "/blobs/" + digest + " HTTP/1.1\" 20";
    try (Stream<String> lines = Files.lines(dir.resolve("registry.log"), StandardCharsets.UTF_8)) {
      return lines.filter(l -> l.contains(needle)).count();
    }
  }

  public String log() throws IOException {
    return Files.readString(dir.resolve("registry.log"));
  }

  private Request.Builder authed(String url) {
    Request.Builder b = new Request.Builder().url(url);
    if (user != null) {
      b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
          (user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }
    return b;
  }

  /** Pushes every blob of {@code image} and its manifest (or index) under {@code tag}. */
  public void push(String repository, String tag, TestImage.Pushable image) throws IOException {
    for (TestImage.Blob b : image.blobs()) {
      pushBlob(repository, b);
    }
    if (image instanceof TestImage.Index index) {
      for (TestImage.Image child : index.children()) {
        putManifest(repository, child.manifest().digest(), child.manifest());
      }
    }
    putManifest(repository, tag, image.manifest());
  }

  private void putManifest(String repository, String tag, TestImage.Blob manifest) throws IOException {
    try (Response r = http.newCall(authed(base() + "/v2/" + repository + "/manifests/" + tag)
        .put(RequestBody.create(manifest.bytes(), MediaType.get(manifest.mediaType())))
        .build()).execute()) {
      if (r.code() != 201) {
        throw new IOException("manifest push failed: " + r.code() + " " + r.body().string());
      }
    }
  }

  private void pushBlob(String repository, TestImage.Blob b) throws IOException {
    String location;
    try (Response r = http.newCall(authed(base() + "/v2/" + repository + "/blobs/uploads/")
        .post(RequestBody.create(new byte[0])).build()).execute()) {
      if (r.code() != 202) {
        throw new IOException("upload start failed: " + r.code() + " " + r.body().string());
      }
      location = r.header("Location");
    }
    String url = location.startsWith("/") ? base() + location : location;
    url += (url.contains("?") ? "&" : "?") + "digest=" + b.digest();
    try (Response r = http.newCall(authed(url)
        .put(RequestBody.create(b.bytes(), MediaType.get("application/octet-stream"))).build()).execute()) {
      if (r.code() != 201) {
        throw new IOException("blob push failed: " + r.code() + " " + r.body().string());
      }
    }
  }

  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    http.connectionPool().evictAll();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static List<String> none() {
    return List.of();
  }
}
