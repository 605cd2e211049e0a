package io.micropod.internal.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micropod.ImageException;
import io.micropod.ImageNotFoundException;
import io.micropod.RegistryAuthenticationException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;
import javax.net.ssl.SSLException;
import okhttp3.FormBody;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the OCI Distribution API ({@code /v2/}) for pulls: manifests and blobs, with
 * Docker's authentication (a {@code 401} answered with a {@code WWW-Authenticate} challenge:
 * {@code Bearer} token flow, anonymous or with credentials, or {@code Basic}).
 *
 * <h2>Transport</h2>
 * HTTPS, except for {@code localhost}, {@code 127.0.0.1}, {@code [::1]} and the registries
 * marked insecure, which are spoken to over plain HTTP. {@code docker.io} is served by
 * {@code registry-1.docker.io}. Redirects (blob storage on a CDN) are followed here, not by OkHttp:
 * the {@code Authorization} header (Basic credentials or the Bearer token) is dropped when a
 * redirect leaves the registry's scheme, host and port; an {@code https} to {@code http} redirect
 * is refused; a challenge ({@code 401}) from anywhere but the registry itself is not answered.
 *
 * <h2>Where credentials go</h2>
 * Only to the registry, and to the token realm of a {@code Bearer} challenge when that realm is
 * {@code https}, or plain {@code http} on the registry's own host and port when the registry
 * itself is plain HTTP (loopback or marked insecure). A realm elsewhere over plain HTTP is refused
 * with a {@link RegistryAuthenticationException} naming it, before anything is sent to it.
 *
 * <h2>Retries</h2>
 * Up to {@value #MAX_ATTEMPTS} attempts with exponential backoff (250 ms, doubling) on transient
 * errors: I/O errors (connection refused or reset, timeouts, a body cut short) and HTTP 5xx or
 * 429. Never on other 4xx, TLS errors or digest mismatches. An interrupted blob download resumes
 * with a {@code Range} request when the registry honours it, else starts over.
 *
 * <p>Thread-safe; one per runtime. Tokens are cached per registry and repository for their
 * lifetime. Never logs credentials or tokens.
 */
public final class RegistryClient {
  private static final Logger log = LoggerFactory.getLogger(RegistryClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  static final String ACCEPT = String.join(", ", OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST);
  static final int MAX_ATTEMPTS = 5;
  static final long MAX_MANIFEST_BYTES = 4L << 20;
  static final int MAX_REDIRECTS = 10;

  private final OkHttpClient http;
  private final DockerCredentials credentials;
  private final Set<String> insecure;
  private final Duration initialBackoff;
  private final ConcurrentHashMap<String, CachedToken> tokens = new ConcurrentHashMap<>();

  private record CachedToken(String header, long expiresNanos) {}

  /** A manifest or index as the registry served it, with its verified digest. */
  public record Manifest(byte[] body, String mediaType, String digest) {}

  public RegistryClient(OkHttpClient http, DockerCredentials credentials, Set<String> insecureRegistries) {
    this(http, credentials, insecureRegistries, Duration.ofMillis(250));
  }

  public RegistryClient(OkHttpClient http, DockerCredentials credentials, Set<String> insecureRegistries,
      Duration initialBackoff) {
    // redirects are followed by execute(), which knows which headers may travel where
    this.http = http.newBuilder().followRedirects(false).followSslRedirects(false).build();
    this.credentials = credentials;
    this.insecure = Set.copyOf(insecureRegistries);
    this.initialBackoff = initialBackoff;
  }

  /** A default OkHttp client for registries: 30 s to connect, 60 s per read or write. */
  public static OkHttpClient defaultHttpClient() {
    return new OkHttpClient.Builder()
        .connectTimeout(Duration.ofSeconds(30))
        .readTimeout(Duration.ofSeconds(60))
        .writeTimeout(Duration.ofSeconds(60))
        .build();
  }

  /** Drops pooled connections (the runtime is closing). */
  public void close() {
    http.connectionPool().evictAll();
  }

  /** The base URL of {@code registry}: {@code https://registry-1.docker.io} for Docker Hub. */
  public HttpUrl baseUrl(String registry) {
    String host = registry.equals("docker.io") ? "registry-1.docker.io" : registry;
    return HttpUrl.get((isPlainHttp(registry) ? "http://" : "https://") + host + "/");
  }

  boolean isPlainHttp(String registry) {
    String host = registry;
    if (host.startsWith("[")) {
      host = host.substring(0, host.indexOf(']') + 1);
    } else if (host.indexOf(':') >= 0) {
      host = host.substring(0, host.indexOf(':'));
    }
    return insecure.contains(registry) || insecure.contains(host) || host.equals("localhost")
        || host.equals("127.0.0.1") || host.equals("[::1]");
  }

  /**
   * Fetches the manifest (or index) {@code reference} (a tag or a digest) of {@code repository}.
   * A digest reference is verified against the body.
   *
   * @throws ImageNotFoundException on 404
   * @throws RegistryAuthenticationException on 401/403
   * @throws ImageException on any other failure, after the retries
   */
  public Manifest manifest(String ref, String registry, String repository, String reference)
      throws InterruptedException {
    HttpUrl url = baseUrl(registry).newBuilder().addPathSegment("v2")
        .addPathSegments(repository).addPathSegment("manifests").addPathSegment(reference).build();
    return withRetries(ref, registry, "manifest " + reference, () -> {
      try (Response r = send(ref, registry, repository,
          new Request.Builder().url(url).header("Accept", ACCEPT))) {
        if (r.code() != 200) {
          throw failure(ref, registry, repository, r, "manifest " + reference);
        }
        ResponseBody body = r.body();
        if (body.contentLength() > MAX_MANIFEST_BYTES) {
          throw new ImageException(ref, "the manifest of " + ref + " is larger than " + MAX_MANIFEST_BYTES + " bytes");
        }
        byte[] bytes;
        try (InputStream in = body.byteStream()) {
          bytes = in.readNBytes((int) MAX_MANIFEST_BYTES + 1);
        }
        if (bytes.length > MAX_MANIFEST_BYTES) {
          throw new ImageException(ref, "the manifest of " + ref + " is larger than " + MAX_MANIFEST_BYTES + " bytes");
        }
        String digest = "sha256:" + HexFormat.of().formatHex(sha256().digest(bytes));
        if (reference.contains(":") && !reference.equals(digest)) {
          if (!reference.startsWith("sha256:")) {
            throw new ImageException(ref, "unsupported digest algorithm in " + reference + " (only sha256)");
          }
          throw new ImageException(ref, "registry " + registry + " served a manifest for " + reference
              + " that hashes to " + digest + ": refusing it (a broken registry or a proxy changing content)");
        }
        String mediaType = r.header("Content-Type", "");
        int semi = mediaType.indexOf(';');
        if (semi >= 0) {
          mediaType = mediaType.substring(0, semi).trim();
        }
        try {
          JsonNode node = JSON.readTree(bytes);
          if (node != null && node.path("mediaType").isTextual()) {
            mediaType = node.path("mediaType").asText();
          } else if (node != null && node.path("schemaVersion").asInt() == 1) {
            mediaType = "application/vnd.docker.distribution.manifest.v1+json";
          }
        } catch (IOException e) {
          throw new ImageException(ref, "the manifest of " + ref + " from " + registry + " is not JSON: " + e.getMessage());
        }
        return new Manifest(bytes, mediaType, digest);
      }
    });
  }

  /**
   * Downloads blob {@code digest} of {@code size} bytes into {@code partial} (appending to what
   * an interrupted earlier attempt left there, when the registry honours {@code Range}), checking
   * the size while streaming and the sha256 at the end. On success {@code partial} holds exactly
   * the blob; on a digest or size mismatch it is deleted and an {@link ImageException} thrown.
   *
   * @param progress receives the number of new bytes as they arrive (may be called often)
   */
  public void blob(String ref, String registry, String repository, String digest, long size,
      Path partial, LongConsumer progress) throws InterruptedException {
    if (!digest.startsWith("sha256:")) {
      throw new ImageException(ref, "unsupported digest algorithm in " + digest + " (only sha256)");
    }
    HttpUrl url = baseUrl(registry).newBuilder().addPathSegment("v2")
        .addPathSegments(repository).addPathSegment("blobs").addPathSegment(digest).build();
    withRetries(ref, registry, "blob " + digest, () -> {
      long have = Files.exists(partial) ? Files.size(partial) : 0;
      if (have > size) {
        Files.delete(partial);
        have = 0;
      }
      Request.Builder rb = new Request.Builder().url(url);
      if (have > 0 && have < size) {
        rb.header("Range", "bytes=" + have + "-");
      }
      if (have == size && size > 0) {
        rb.header("Range", "bytes=" + (size - 1) + "-"); // nothing new to fetch; confirm it exists
      }
      try (Response r = send(ref, registry, repository, rb)) {
        boolean append;
        if (r.code() == 206 && have > 0 && r.header("Content-Range", "").startsWith("bytes " + (have == size ? size - 1 : have) + "-")) {
          append = true;
        } else if (r.code() == 200) {
          append = false;
        } else {
          throw failure(ref, registry, repository, r, "blob " + digest);
        }
        MessageDigest md = sha256();
        long written = 0;
        if (append) {
          try (InputStream old = Files.newInputStream(partial)) {
            byte[] buf = new byte[65536];
            int n;
            while ((n = old.read(buf)) > 0) {
              md.update(buf, 0, n);
            }
          }
          written = have;
          if (have == size) {
            r.body().close();
          }
        }
        if (!(append && have == size)) {
          try (InputStream in = r.body().byteStream();
              OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                  append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
              if (written + n > size) {
                Files.deleteIfExists(partial);
                throw new ImageException(ref, "registry " + registry + " sent more than the " + size
                    + " bytes the manifest gives for blob " + digest + ": refusing it");
              }
              out.write(buf, 0, n);
              md.update(buf, 0, n);
              written += n;
              progress.accept(n);
            }
          }
        }
        if (written < size) {
          throw new IOException("the body of blob " + digest + " ended after " + written + " of " + size + " bytes");
        }
        String actual = "sha256:" + HexFormat.of().formatHex(md.digest());
        if (!actual.equals(digest)) {
          Files.deleteIfExists(partial);
          throw new ImageException(ref, "blob " + digest + " of " + ref + " from " + registry
              + " does not match its digest (the " + size + " bytes received hash to " + actual
              + "); it was not kept. A proxy or the registry altered it: pull again, or check the registry");
        }
        return null;
      }
    });
  }

  @FunctionalInterface
  private interface Attempt<T> {
    T run() throws IOException, InterruptedException;
  }

  /** A transient HTTP status, retried like an I/O error. */
  private static final class TransientStatus extends IOException {
    private static final long serialVersionUID = 1L;

    TransientStatus(String message) {
      super(message);
    }
  }

  private <T> T withRetries(String ref, String registry, String what, Attempt<T> attempt)
      throws InterruptedException {
    long backoff = initialBackoff.toMillis();
    for (int i = 1; ; i++) {
      try {
        return attempt.run();
      } catch (InterruptedIOException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedException("interrupted while fetching " + what);
        }
        if (i >= MAX_ATTEMPTS) {
          throw new ImageException(ref, "timed out fetching " + what + " of " + ref + " from " + registry
              + " after " + i + " attempts: " + e.getMessage(), e);
        }
        log.debug("{}: {} from {} timed out (attempt {}): {}; retrying", ref, what, registry, i, e.toString());
      } catch (java.net.UnknownHostException e) {
        throw new ImageException(ref, "cannot resolve the host of registry " + registry + " ("
            + e.getMessage() + "): check the image reference and the network's DNS", e);
      } catch (SSLException e) {
        throw new ImageException(ref, "TLS with registry " + registry + " failed: " + e.getMessage()
            + ". If it serves plain HTTP, mark it insecure: MicroPodRuntime.builder().insecureRegistry(\""
            + registry + "\")", e);
      } catch (IOException e) {
        if (i >= MAX_ATTEMPTS) {
          throw new ImageException(ref, "cannot fetch " + what + " of " + ref + " from registry " + registry
              + " after " + i + " attempts: " + e.getMessage()
              + " (check the network and that " + baseUrl(registry) + " serves the registry API)", e);
        }
        log.debug("{}: {} from {} failed (attempt {}): {}; retrying", ref, what, registry, i, e.toString());
      }
      Thread.sleep(backoff);
      backoff *= 2;
    }
  }

  /** Sends with the cached authorization; on 401, answers the challenge once and resends. */
  private Response send(String ref, String registry, String repository, Request.Builder rb)
      throws IOException {
    String key = registry + "/" + repository;
    CachedToken cached = tokens.get(key);
    String usedAuth = cached != null && cached.expiresNanos - System.nanoTime() > 0 ? cached.header : null;
    if (usedAuth != null) {
      rb.header("Authorization", usedAuth);
    }
    Response r = execute(ref, rb.build());
    if (r.code() != 401) {
      return r;
    }
    if (!sameOrigin(r.request().url(), baseUrl(registry))) {
      // a redirect target (blob storage) asking for credentials: they are not for it
      HttpUrl where = r.request().url();
      r.close();
      throw new RegistryAuthenticationException(ref, registry, "registry " + registry + " redirected " + repository
          + " to " + where.scheme() + "://" + where.host() + ":" + where.port()
          + ", which asked for credentials: not answered (credentials are only sent to the registry and its token realm)");
    }
    List<AuthChallenge> challenges = AuthChallenge.parse(r.headers("WWW-Authenticate"));
    r.close();
    Optional<RegistryCredential> cred = lookup(ref, registry);
    CachedToken fresh = authorize(ref, registry, repository, challenges, cred);
    if (fresh == null || fresh.header.equals(usedAuth)) {
      throw authFailure(ref, registry, repository, cred, null);
    }
    tokens.put(key, fresh);
    Response again = execute(ref, rb.header("Authorization", fresh.header).build());
    if (again.code() == 401) {
      again.close();
      tokens.remove(key);
      throw authFailure(ref, registry, repository, cred, null);
    }
    return again;
  }

  /**
   * Executes {@code request}, following up to {@value #MAX_REDIRECTS} redirects: the
   * {@code Authorization} header only travels to the same scheme, host and port (whether it was
   * added for Basic credentials or a Bearer token), and {@code https} never goes down to
   * {@code http} (a network attacker could otherwise read or change what follows).
   */
  private Response execute(String ref, Request request) throws IOException {
    Request current = request;
    for (int hop = 0; ; hop++) {
      Response r = http.newCall(current).execute();
      int code = r.code();
      if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
        return r;
      }
      String location = r.header("Location");
      HttpUrl next = location == null ? null : current.url().resolve(location);
      if (next == null) {
        return r; // the caller reports the status
      }
      r.close();
      if (hop >= MAX_REDIRECTS) {
        throw new ImageException(ref, "more than " + MAX_REDIRECTS + " redirects fetching " + redacted(request.url()));
      }
      if (current.url().isHttps() && !next.isHttps()) {
        throw new ImageException(ref, redacted(current.url()) + " redirected to plain HTTP (" + redacted(next)
            + "): refusing the downgrade from https");
      }
      Request.Builder b = current.newBuilder().url(next);
      if (!sameOrigin(current.url(), next)) {
        b.removeHeader("Authorization");
      }
      if (code == 303 || ((code == 301 || code == 302) && current.method().equals("POST"))) {
        b.get(); // as browsers and OkHttp do
      }
      current = b.build();
    }
  }

  private static boolean sameOrigin(HttpUrl a, HttpUrl b) {
    return a.scheme().equals(b.scheme()) && a.host().equalsIgnoreCase(b.host()) && a.port() == b.port();
  }

  /** A URL without its query (pre-signed storage URLs carry signatures there). */
  private static String redacted(HttpUrl u) {
    return u.newBuilder().query(null).build().toString();
  }

  private Optional<RegistryCredential> lookup(String ref, String registry) {
    try {
      return credentials.lookup(registry);
    } catch (IOException e) {
      throw new ImageException(ref, "cannot read the credentials for registry " + registry + ": " + e.getMessage(), e);
    }
  }

  private CachedToken authorize(String ref, String registry, String repository,
      List<AuthChallenge> challenges, Optional<RegistryCredential> cred) throws IOException {
    AuthChallenge bearer = challenges.stream().filter(c -> c.scheme().equals("bearer")).findFirst().orElse(null);
    if (bearer != null) {
      return bearerToken(ref, registry, repository, bearer, cred);
    }
    boolean basic = challenges.stream().anyMatch(c -> c.scheme().equals("basic"));
    if (basic && cred.isPresent() && !cred.get().isIdentityToken()) {
      return new CachedToken(basicHeader(cred.get()), Long.MAX_VALUE / 2 + System.nanoTime());
    }
    return null;
  }

  private CachedToken bearerToken(String ref, String registry, String repository, AuthChallenge c,
      Optional<RegistryCredential> cred) throws IOException {
    String realm = c.param("realm");
    HttpUrl realmUrl = realm == null ? null : HttpUrl.parse(realm);
    if (realmUrl == null) {
      throw new ImageException(ref, "registry " + registry + " sent a Bearer challenge without a valid realm: \""
          + realm + "\"");
    }
    if (cred.isPresent() && !realmUrl.isHttps()
        && !(isPlainHttp(registry) && sameOrigin(realmUrl, baseUrl(registry)))) {
      throw new RegistryAuthenticationException(ref, registry, "registry " + registry
          + " sent a Bearer challenge with the token realm " + realmUrl + ", which is plain HTTP on another host:"
          + " refusing to send the credentials of user \"" + cred.get().username() + "\" from " + cred.get().source()
          + " there (a token realm must be https, or on the plain-HTTP registry's own host and port)");
    }
    String scope = "repository:" + repository + ":pull";
    String service = c.param("service");
    Request request;
    if (cred.isPresent() && cred.get().isIdentityToken()) {
      FormBody.Builder form = new FormBody.Builder()
          .add("grant_type", "refresh_token").add("refresh_token", cred.get().secret())
          .add("client_id", "micropod").add("scope", scope);
      if (service != null) {
        form.add("service", service);
      }
      request = new Request.Builder().url(realmUrl).post(form.build()).build();
    } else {
      HttpUrl.Builder u = realmUrl.newBuilder();
      if (service != null) {
        u.addQueryParameter("service", service);
      }
      u.addQueryParameter("scope", scope);
      Request.Builder b = new Request.Builder().url(u.build());
      cred.ifPresent(value -> b.header("Authorization", basicHeader(value)));
      request = b.build();
    }
    try (Response r = execute(ref, request)) {
      if (r.code() == 401 || r.code() == 403) {
        throw authFailure(ref, registry, repository, cred, "the token service " + realmUrl.host()
            + " answered " + r.code());
      }
      if (r.code() >= 500 || r.code() == 429) {
        throw new TransientStatus("token service " + realmUrl.host() + " answered " + r.code());
      }
      if (r.code() != 200) {
        throw new ImageException(ref, "token service " + realmUrl.host() + " for registry " + registry
            + " answered HTTP " + r.code());
      }
      JsonNode node = JSON.readTree(r.body().byteStream());
      String token = node.path("token").asText(node.path("access_token").asText(""));
      if (token.isEmpty()) {
        throw new ImageException(ref, "token service " + realmUrl.host() + " for registry " + registry
            + " answered without a token");
      }
      long expiresIn = node.path("expires_in").asLong(60);
      // renew a little early; at least 60 s as the spec says
      long lifetime = Math.max(60, expiresIn) - 10;
      return new CachedToken("Bearer " + token, System.nanoTime() + lifetime * 1_000_000_000L);
    }
  }

  private static String basicHeader(RegistryCredential c) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (c.username() + ":" + c.secret()).getBytes(StandardCharsets.UTF_8));
  }

  private RegistryAuthenticationException authFailure(String ref, String registry, String repository,
      Optional<RegistryCredential> cred, String detail) {
    String msg;
    if (cred.isEmpty()) {
      msg = "registry " + registry + " requires authentication to pull " + repository
          + " (or the repository does not exist) and no credentials were found in "
          + credentials.configFile() + ": run `docker login " + registry + "` or add an \"auths\" entry";
    } else {
      msg = "registry " + registry + " rejected the credentials of user \"" + cred.get().username()
          + "\" from " + cred.get().source() + " for " + repository
          + " (wrong password or token, or no pull access; or the repository does not exist): "
          + "run `docker login " + registry + "` again";
    }
    return new RegistryAuthenticationException(ref, registry, detail == null ? msg : msg + " [" + detail + "]");
  }

  private RuntimeException failure(String ref, String registry, String repository, Response r, String what)
      throws IOException {
    int code = r.code();
    String detail = errorDetail(r);
    if (code >= 500 || code == 429) {
      throw new TransientStatus("registry " + registry + " answered HTTP " + code + " for " + what + detail);
    }
    if (code == 404) {
      if (what.startsWith("manifest")) {
        return new ImageNotFoundException(ref, "image not found: registry " + registry + " has no "
            + what + " in repository " + repository + detail + "; check the name and tag of " + ref);
      }
      return new ImageException(ref, "registry " + registry + " has no " + what + " of " + ref
          + " although its manifest lists it" + detail + "; the image in the registry is broken: push it again");
    }
    if (code == 401 || code == 403) {
      return authFailure(ref, registry, repository, lookup(ref, registry), "HTTP " + code + detail);
    }
    return new ImageException(ref, "registry " + registry + " answered HTTP " + code + " for " + what
        + " of " + ref + detail);
  }

  /** The first {@code errors[]} entry of a registry error body, as " (CODE: message)". */
  private static String errorDetail(Response r) {
    try {
      ResponseBody b = r.body();
      byte[] bytes = b.byteStream().readNBytes(8192);
      JsonNode node = JSON.readTree(bytes);
      JsonNode e = node == null ? null : node.path("errors").path(0);
      if (e != null && e.isObject()) {
        String s = e.path("code").asText("") + ": " + e.path("message").asText("");
        return " (" + (s.length() > 300 ? s.substring(0, 300) : s) + ")";
      }
    } catch (IOException | RuntimeException e) {
      // no detail
    }
    return "";
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
