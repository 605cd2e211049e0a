package io.micropod.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.micropod.ImageException;
import io.micropod.RegistryAuthenticationException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Where the registry client sends credentials: real local servers that record what they get. */
@Timeout(30)
class RegistryCredentialScopeTest {
  private static final String USER = "alice";
  private static final String PASSWORD = "s3cret-pw";
  private static final byte[] BLOB = "layer bytes".getBytes(StandardCharsets.UTF_8);

  @TempDir Path tmp;
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
  /** Authorization headers (or "-" for none) each server received, by server name. */
  private final Map<String, List<String>> seen = new java.util.concurrent.ConcurrentHashMap<>();

  @AfterEach
  void stop() {
    servers.forEach(s -> s.stop(0));
  }

  private HttpServer server(String name, String ip) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(ip, 0), 0);
    s.start();
    servers.add(s);
    seen.put(name, new CopyOnWriteArrayList<>());
    return s;
  }

  private void record(String name, HttpExchange ex) {
    String a = ex.getRequestHeaders().getFirst("Authorization");
    seen.get(name).add(a == null ? "-" : a);
  }

  private static void send(HttpExchange ex, int code, byte[] body) throws IOException {
    ex.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(body);
    }
  }

  private static String hostOf(HttpServer s) {
    return s.getAddress().getAddress().getHostAddress() + ":" + s.getAddress().getPort();
  }

  private RegistryClient client(String registry) throws IOException {
    OkHttpClient http = new OkHttpClient.Builder().connectTimeout(Duration.ofSeconds(5))
        .readTimeout(Duration.ofSeconds(5)).build();
    return new RegistryClient(http, credentials(registry), Set.of(), Duration.ofMillis(10));
  }

  /** A Docker config that holds {@link #USER}'s password for {@code registry}. */
  private DockerCredentials credentials(String registry) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("docker"));
    Files.writeString(dir.resolve("config.json"), "{\"auths\":{\"" + registry + "\":{\"auth\":\"" + basicAuth() + "\"}}}");
    return new DockerCredentials(Map.of("DOCKER_CONFIG", dir.toString()), tmp);
  }

  private static String digest() throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(BLOB));
  }

  /** A server {@code name} on {@code ip} that serves the blob and records what it was sent. */
  private HttpServer blobServer(String name, String ip) throws IOException {
    HttpServer s = server(name, ip);
    s.createContext("/", ex -> {
      record(name, ex);
      send(ex, 200, BLOB);
    });
    return s;
  }

  /** A storage host that serves the blob and records what it was sent. */
  private HttpServer storage() throws IOException {
    return blobServer("storage", "127.0.0.2");
  }

  @Test
  void basicCredentialsAreNotSentToTheStorageHostABlobRedirectsTo() throws Exception {
    HttpServer storage = storage();
    HttpServer registry = server("registry", "127.0.0.1");
    String expected = "Basic " + basicAuth();
    registry.createContext("/v2/", ex -> {
      record("registry", ex);
      if (!expected.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"test\"");
        send(ex, 401, new byte[0]);
        return;
      }
      ex.getResponseHeaders().add("Location", "http://" + hostOf(storage) + "/blob?sig=x");
      send(ex, 307, new byte[0]);
    });
    String reg = hostOf(registry);
    Path out = tmp.resolve("blob");

    client(reg).blob("img", reg, "lib/app", digest(), BLOB.length, out, n -> { });

    assertThat(Files.readAllBytes(out)).isEqualTo(BLOB);
    assertThat(seen.get("registry")).contains(expected);
    assertThat(seen.get("storage")).isNotEmpty().containsOnly("-");
  }

  @Test
  void bearerTokenIsNotSentToTheStorageHostABlobRedirectsTo() throws Exception {
    HttpServer storage = storage();
    HttpServer registry = server("registry", "127.0.0.1");
    String reg = hostOf(registry);
    registry.createContext("/token", ex -> {
      record("registry", ex);
      send(ex, 200, "{\"token\":\"tok-123\"}".getBytes(StandardCharsets.UTF_8));
    });
    registry.createContext("/v2/", ex -> {
      record("registry", ex);
      if (!"Bearer tok-123".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + reg + "/token\",service=\"s\"");
        send(ex, 401, new byte[0]);
        return;
      }
      ex.getResponseHeaders().add("Location", "http://" + hostOf(storage) + "/blob?sig=x");
      send(ex, 307, new byte[0]);
    });
    Path out = tmp.resolve("blob");

    client(reg).blob("img", reg, "lib/app", digest(), BLOB.length, out, n -> { });

    assertThat(Files.readAllBytes(out)).isEqualTo(BLOB);
    assertThat(seen.get("registry")).contains("Bearer tok-123");
    assertThat(seen.get("storage")).isNotEmpty().containsOnly("-");
  }

  @Test
  void aPlainHttpTokenRealmOnAnotherHostIsRefusedBeforeAnyCredentialIsSent() throws Exception {
    HttpServer realm = server("realm", "127.0.0.2");
    realm.createContext("/", ex -> {
      record("realm", ex);
      send(ex, 200, "{\"token\":\"stolen\"}".getBytes(StandardCharsets.UTF_8));
    });
    HttpServer registry = server("registry", "127.0.0.1");
    String realmUrl = "http://" + hostOf(realm) + "/token";
    registry.createContext("/v2/", ex -> {
      record("registry", ex);
      ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"" + realmUrl + "\",service=\"s\"");
      send(ex, 401, new byte[0]);
    });
    String reg = hostOf(registry);

    assertThatThrownBy(() -> client(reg).blob("img", reg, "lib/app", digest(), BLOB.length, tmp.resolve("b"), n -> { }))
        .isInstanceOf(RegistryAuthenticationException.class)
        .hasMessageContaining(realmUrl)
        .hasMessageNotContaining(PASSWORD);
    assertThat(seen.get("realm")).isEmpty();
  }

  @Test
  void aStorageHostsChallengeIsNotAnswered() throws Exception {
    // the redirect target asks for credentials (with a token realm of its choosing): they are the
    // registry's, not the storage's, so the challenge is not answered at all
    HttpServer storage = server("storage", "127.0.0.2");
    storage.createContext("/", ex -> {
      record("storage", ex);
      ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"https://127.0.0.3:9/token\",service=\"s\"");
      send(ex, 401, new byte[0]);
    });
    HttpServer registry = server("registry", "127.0.0.1");
    registry.createContext("/v2/", ex -> {
      record("registry", ex);
      ex.getResponseHeaders().add("Location", "http://" + hostOf(storage) + "/blob");
      send(ex, 307, new byte[0]);
    });
    String reg = hostOf(registry);

    assertThatThrownBy(() -> client(reg).blob("img", reg, "lib/app", digest(), BLOB.length, tmp.resolve("b"), n -> { }))
        .isInstanceOf(RegistryAuthenticationException.class)
        .hasMessageNotContaining(PASSWORD);
    assertThat(seen.get("storage")).isNotEmpty().containsOnly("-");
    assertThat(seen.get("registry")).containsOnly("-");
  }

  /**
   * An HTTPS registry on 127.0.0.2 with a certificate made for this test (keytool, EC P-256,
   * SAN ip:127.0.0.2), and a client that trusts that certificate only.
   */
  private final class TlsRegistry {
    final HttpsServer server;
    final OkHttpClient http;

    TlsRegistry() throws Exception {
      Path store = tmp.resolve("registry.p12");
      char[] pass = "test-only".toCharArray();
      Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
          "-genkeypair", "-alias", "registry", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.2",
          "-ext", "san=ip:127.0.0.2", "-validity", "1", "-storetype", "PKCS12", "-keystore", store.toString(),
          "-storepass", new String(pass), "-keypass", new String(pass))
          .redirectErrorStream(true).start();
      String out = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(keytool.waitFor(20, TimeUnit.SECONDS)).as("keytool finishes").isTrue();
      assertThat(keytool.exitValue()).as("keytool: " + out).isZero();
      KeyStore keys = KeyStore.getInstance("PKCS12");
      try (var in = Files.newInputStream(store)) {
        keys.load(in, pass);
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, pass);
      SSLContext serverTls = SSLContext.getInstance("TLS");
      serverTls.init(kmf.getKeyManagers(), null, null);
      server = HttpsServer.create(new InetSocketAddress("127.0.0.2", 0), 0);
      server.setHttpsConfigurator(new HttpsConfigurator(serverTls));
      server.start();
      servers.add(server);
      seen.put("registry", new CopyOnWriteArrayList<>());

      KeyStore trusted = KeyStore.getInstance("PKCS12");
      trusted.load(null, null);
      trusted.setCertificateEntry("registry", keys.getCertificate("registry"));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trusted);
      X509TrustManager trust = (X509TrustManager) tmf.getTrustManagers()[0];
      SSLContext clientTls = SSLContext.getInstance("TLS");
      clientTls.init(null, new TrustManager[] {trust}, null);
      http = new OkHttpClient.Builder().sslSocketFactory(clientTls.getSocketFactory(), trust)
          .connectTimeout(Duration.ofSeconds(5)).readTimeout(Duration.ofSeconds(5)).build();
    }

    String host() {
      return hostOf(server);
    }

    /** The registry: Basic credentials required, then every {@code /v2/} request redirected to {@code location}. */
    void redirectAuthenticatedRequestsTo(String location, String expectedAuthorization) {
      server.createContext("/v2/", ex -> {
        record("registry", ex);
        if (!expectedAuthorization.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
          ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"test\"");
          send(ex, 401, new byte[0]);
          return;
        }
        ex.getResponseHeaders().add("Location", location);
        send(ex, 307, new byte[0]);
      });
    }

    RegistryClient client() throws IOException {
      return new RegistryClient(http, credentials(host()), Set.of(), Duration.ofMillis(10));
    }
  }

  private static String basicAuth() {
    return Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
  }

  /** A plain-HTTP server on 127.0.0.1 that records every request it gets (it should get none). */
  private HttpServer downgradeTarget() throws IOException {
    return blobServer("plain", "127.0.0.1");
  }

  @Test
  void aBlobRedirectFromHttpsToPlainHttpIsRefusedAndNothingReachesTheHttpServer() throws Exception {
    HttpServer plain = downgradeTarget();
    TlsRegistry registry = new TlsRegistry();
    registry.redirectAuthenticatedRequestsTo("http://" + hostOf(plain) + "/blob?sig=x", "Basic " + basicAuth());
    String reg = registry.host();
    RegistryClient client = registry.client();
    assertThat(client.baseUrl(reg).isHttps()).isTrue();

    assertThatThrownBy(() -> client.blob("img", reg, "lib/app", digest(), BLOB.length, tmp.resolve("b"), n -> { }))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("redirected to plain HTTP (http://" + hostOf(plain) + "/blob")
        .hasMessageContaining("refusing the downgrade from https")
        .hasMessageNotContaining(PASSWORD);
    assertThat(seen.get("registry")).as("the TLS registry was asked, with the credentials")
        .contains("Basic " + basicAuth());
    assertThat(seen.get("plain")).as("requests that reached the plain-HTTP server").isEmpty();
    assertThat(tmp.resolve("b")).doesNotExist();
  }

  @Test
  void aManifestRedirectFromHttpsToPlainHttpIsRefusedAndNothingReachesTheHttpServer() throws Exception {
    HttpServer plain = downgradeTarget();
    TlsRegistry registry = new TlsRegistry();
    registry.redirectAuthenticatedRequestsTo("http://" + hostOf(plain) + "/v2/lib/app/manifests/1.0",
        "Basic " + basicAuth());
    String reg = registry.host();

    assertThatThrownBy(() -> registry.client().manifest("img", reg, "lib/app", "1.0"))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("refusing the downgrade from https")
        .hasMessageNotContaining(PASSWORD);
    assertThat(seen.get("registry")).contains("Basic " + basicAuth());
    assertThat(seen.get("plain")).as("requests that reached the plain-HTTP server").isEmpty();
  }
}
