package io.micropod.internal.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small token server in front of a real registry, the way Docker Hub works: {@code /v2/...}
 * answers 401 with {@code WWW-Authenticate: Bearer realm=".../token",service="gate",scope=...}
 * unless it carries a token this gate issued; {@code /token?service=gate&scope=...} issues tokens,
 * anonymously (when {@code anonymous}) or for {@code user}/{@code password} given as Basic auth.
 * Authorised requests are forwarded to the registry. Records the scopes asked for.
 */
public final class TokenGate implements AutoCloseable {
  private final HttpServer server;
  private final int upstreamPort;
  private final String user;
  private final String password;
  private final boolean anonymous;
  private final Set<String> tokens = ConcurrentHashMap.newKeySet();
  private final List<String> scopes = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicInteger tokenRequests = new AtomicInteger();
  private final HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  public TokenGate(int upstreamPort, String user, String password, boolean anonymous) throws IOException {
    this.upstreamPort = upstreamPort;
    this.user = user;
    this.password = password;
    this.anonymous = anonymous;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "token-gate");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/token", this::token);
    server.createContext("/v2/", this::registry);
    server.start();
  }

  public String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  public List<String> scopes() {
    return scopes;
  }

  public int tokenRequests() {
    return tokenRequests.get();
  }

  private void token(HttpExchange ex) throws IOException {
    tokenRequests.incrementAndGet();
    String query = ex.getRequestURI().getRawQuery() == null ? "" : ex.getRequestURI().getRawQuery();
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    boolean ok;
    if (auth == null) {
      ok = anonymous;
    } else {
      String expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
      ok = auth.equals(expected);
    }
    if (!query.contains("service=gate") || !ok) {
      send(ex, 401, "{\"details\":\"incorrect username or password\"}");
      return;
    }
    for (String p : query.split("&")) {
      if (p.startsWith("scope=")) {
        scopes.add(java.net.URLDecoder.decode(p.substring(6), StandardCharsets.UTF_8));
      }
    }
    String token = UUID.randomUUID().toString();
    tokens.add(token);
    send(ex, 200, "{\"token\":\"" + token + "\",\"expires_in\":300}");
  }

  private void registry(HttpExchange ex) throws IOException {
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (auth == null || !auth.startsWith("Bearer ") || !tokens.contains(auth.substring(7))) {
      String path = ex.getRequestURI().getPath();
      String repo = path.replaceFirst("^/v2/", "").replaceFirst("/(manifests|blobs)/.*$", "");
      ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + host() + "/token\",service=\"gate\","
          + "scope=\"repository:" + repo + ":pull\"");
      send(ex, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
      return;
    }
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + upstreamPort + ex.getRequestURI()));
      for (String h : List.of("Accept", "Range")) {
        String v = ex.getRequestHeaders().getFirst(h);
        if (v != null) {
          b.header(h, v);
        }
      }
      HttpResponse<InputStream> r = client.send(b.method(ex.getRequestMethod(), HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofInputStream());
      r.headers().map().forEach((k, v) -> {
        if (!k.equalsIgnoreCase("content-length") && !k.equalsIgnoreCase("transfer-encoding") && !k.equals(":status")) {
          v.forEach(x -> ex.getResponseHeaders().add(k, x));
        }
      });
      long len = r.headers().firstValueAsLong("Content-Length").orElse(0);
      ex.sendResponseHeaders(r.statusCode(), ex.getRequestMethod().equals("HEAD") || len == 0 ? -1 : len);
      try (InputStream in = r.body(); OutputStream out = ex.getResponseBody()) {
        in.transferTo(out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      send(ex, 502, "");
    }
  }

  private static void send(HttpExchange ex, int code, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(code, b.length == 0 ? -1 : b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
