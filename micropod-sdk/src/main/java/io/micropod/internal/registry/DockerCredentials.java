package io.micropod.internal.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds registry credentials the way the Docker CLI does: in {@code $DOCKER_CONFIG/config.json},
 * else {@code ~/.docker/config.json}. For a registry, {@code credHelpers[<registry>]} wins, then
 * {@code credsStore}, then {@code auths} ({@code auth} = base64 of {@code user:password},
 * or {@code username}/{@code password}, or {@code identitytoken}). Helpers run as
 * {@code docker-credential-<name> get} (found on {@code PATH}) with the server URL on stdin and
 * answer {@code {"Username":..,"Secret":..}}. Docker Hub's key is
 * {@code https://index.docker.io/v1/}. The file is read on every lookup (it changes with
 * {@code docker login}). Thread-safe. Never logs secrets.
 */
public final class DockerCredentials {
  private static final Logger log = LoggerFactory.getLogger(DockerCredentials.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The server URL Docker uses for Docker Hub in config.json and with helpers. */
  public static final String DOCKER_HUB_KEY = "https://index.docker.io/v1/";
  private static final long HELPER_TIMEOUT_SECONDS = 30;

  private final Map<String, String> env;
  private final Path userHome;

  /**
   * @param env the environment to read {@code DOCKER_CONFIG} and {@code PATH} from
   * @param userHome the home directory ({@code ~})
   */
  public DockerCredentials(Map<String, String> env, Path userHome) {
    this.env = Map.copyOf(env);
    this.userHome = userHome;
  }

  /** The config file consulted (whether or not it exists). */
  public Path configFile() {
    String dir = env.get("DOCKER_CONFIG");
    if (dir != null && !dir.isBlank()) {
      return Path.of(dir).resolve("config.json");
    }
    return userHome.resolve(".docker").resolve("config.json");
  }

  /**
   * The credential for {@code registry} (as in an image reference: {@code docker.io},
   * {@code host:5000}), or empty when none is configured.
   *
   * @throws IOException when the config file or a helper is broken (the message names which)
   */
  public Optional<RegistryCredential> lookup(String registry) throws IOException {
    Path file = configFile();
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    JsonNode config;
    try {
      config = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException("cannot parse " + file + ": " + e.getMessage(), e);
    }
    if (config == null || !config.isObject()) {
      return Optional.empty();
    }
    String wanted = normalize(registry);
    String helper = null;
    for (Iterator<Map.Entry<String, JsonNode>> it = config.path("credHelpers").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (normalize(e.getKey()).equals(wanted)) {
        helper = e.getValue().asText();
      }
    }
    if (helper == null && config.path("credsStore").isTextual() && !config.path("credsStore").asText().isBlank()) {
      helper = config.path("credsStore").asText();
    }
    if (helper != null) {
      Optional<RegistryCredential> c = fromHelper(helper, serverUrl(registry));
      if (c.isPresent()) {
        return c;
      }
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = config.path("auths").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!normalize(e.getKey()).equals(wanted)) {
        continue;
      }
      JsonNode a = e.getValue();
      String source = file + " (auths." + e.getKey() + ")";
      if (a.path("identitytoken").isTextual() && !a.path("identitytoken").asText().isEmpty()) {
        return Optional.of(new RegistryCredential(RegistryCredential.TOKEN_USER, a.path("identitytoken").asText(), source));
      }
      if (a.path("auth").isTextual() && !a.path("auth").asText().isEmpty()) {
        String decoded;
        try {
          decoded = new String(Base64.getDecoder().decode(a.path("auth").asText().trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException ex) {
          throw new IOException("the \"auth\" of \"" + e.getKey() + "\" in " + file + " is not base64");
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
          throw new IOException("the \"auth\" of \"" + e.getKey() + "\" in " + file
              + " does not decode to user:password");
        }
        return Optional.of(new RegistryCredential(decoded.substring(0, colon), decoded.substring(colon + 1), source));
      }
      if (a.path("username").isTextual() && a.path("password").isTextual()) {
        return Optional.of(new RegistryCredential(a.path("username").asText(), a.path("password").asText(), source));
      }
    }
    return Optional.empty();
  }

  /** The key Docker uses for {@code registry} with helpers: Docker Hub's URL, else the host. */
  static String serverUrl(String registry) {
    return normalize(registry).equals("docker.io") ? DOCKER_HUB_KEY : registry;
  }

  /** {@code https://index.docker.io/v1/} -> {@code docker.io}; {@code http://h:5000/} -> {@code h:5000}. */
  static String normalize(String key) {
    String k = key.trim().toLowerCase(Locale.ROOT);
    if (k.startsWith("https://")) {
      k = k.substring(8);
    } else if (k.startsWith("http://")) {
      k = k.substring(7);
    }
    int slash = k.indexOf('/');
    if (slash >= 0) {
      k = k.substring(0, slash);
    }
    if (k.equals("index.docker.io") || k.equals("registry-1.docker.io") || k.equals("registry.hub.docker.com")) {
      k = "docker.io";
    }
    return k;
  }

  private Optional<RegistryCredential> fromHelper(String helper, String serverUrl) throws IOException {
    if (!helper.matches("[A-Za-z0-9._-]+")) {
      throw new IOException("invalid credential helper name \"" + helper + "\" in " + configFile());
    }
    String exe = "docker-credential-" + helper;
    Path binary = findOnPath(exe);
    if (binary == null) {
      throw new IOException(configFile() + " names the credential helper \"" + helper + "\", but "
          + exe + " is not on PATH: install it or remove it from the file");
    }
    ProcessBuilder pb = new ProcessBuilder(binary.toString(), "get");
    pb.environment().clear();
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.PIPE);
    Process p = pb.start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(serverUrl.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // the helper exited without reading its input; its exit code and output tell why
      log.debug("{} did not read the server URL: {}", exe, e.toString());
    }
    byte[] out;
    byte[] err;
    try (InputStream o = p.getInputStream(); InputStream e = p.getErrorStream()) {
      out = o.readNBytes(1 << 20);
      err = e.readNBytes(1 << 16);
      if (!p.waitFor(HELPER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(exe + " get did not finish within " + HELPER_TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + exe, e);
    }
    String stdout = new String(out, StandardCharsets.UTF_8).trim();
    if (p.exitValue() != 0) {
      String msg = (stdout + " " + new String(err, StandardCharsets.UTF_8)).trim();
      if (msg.toLowerCase(Locale.ROOT).contains("credentials not found")) {
        log.debug("{} has no credentials for {}", exe, serverUrl);
        return Optional.empty();
      }
      // the helper's message may not hold secrets; keep it short anyway
      throw new IOException(exe + " get failed with exit code " + p.exitValue() + ": "
          + (msg.length() > 200 ? msg.substring(0, 200) + "..." : msg));
    }
    JsonNode node;
    try {
      node = JSON.readTree(stdout);
    } catch (IOException e) {
      throw new IOException(exe + " get did not answer JSON");
    }
    String user = node == null ? "" : node.path("Username").asText("");
    String secret = node == null ? "" : node.path("Secret").asText("");
    if (secret.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new RegistryCredential(user, secret, exe));
  }

  private Path findOnPath(String exe) {
    String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
    List<String> dirs = new ArrayList<>(List.of(path.split(":")));
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d).resolve(exe);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
