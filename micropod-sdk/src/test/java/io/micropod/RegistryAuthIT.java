package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.internal.registry.LocalRegistry;
import io.micropod.internal.registry.TestImage;
import io.micropod.internal.registry.TokenGate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication against a real registry: htpasswd basic auth (bcrypt) on docker-registry, and the
 * Bearer token flow through a small token server in front of it; credentials from a temporary
 * {@code DOCKER_CONFIG}. No VM: pulls through the public {@link MicroPodRuntime} API.
 */
class RegistryAuthIT {
  static final String USER = "alice";
  static final String PASSWORD = "correct-horse-42";
  static LocalRegistry registry;
  static LocalRegistry anonymous;
  static TestImage.Image image;

  @TempDir Path tmp;

  @BeforeAll
  static void startRegistries() throws Exception {
    registry = LocalRegistry.start(USER, PASSWORD);
    anonymous = LocalRegistry.start();
    image = TestImage.image("amd64", List.of(TestImage.gzip(TestImage.tar(TestImage.files("hello", "world")))), false);
    registry.push("private/app", "1", image);
    anonymous.push("public/app", "1", image);
  }

  @AfterAll
  static void stopRegistries() throws IOException {
    if (registry != null) {
      registry.close();
    }
    if (anonymous != null) {
      anonymous.close();
    }
  }

  private MicroPodRuntime runtime(String configJson) throws IOException {
    Path docker = Files.createDirectories(tmp.resolve("docker"));
    if (configJson != null) {
      Files.writeString(docker.resolve("config.json"), configJson);
    }
    return MicroPodRuntime.builder().home(tmp.resolve("home"))
        .environment(Map.of("DOCKER_CONFIG", docker.toString(), "HOME", tmp.toString(),
            "PATH", tmp.resolve("bin") + ":/usr/bin:/bin"))
        .build();
  }

  private static String auths(String host, String user, String password) {
    String auth = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    return "{\"auths\":{\"" + host + "\":{\"auth\":\"" + auth + "\"}}}";
  }

  @Test
  void withoutCredentialsBasicAuthFailsNamingTheRegistryAndWhatToDo() throws IOException {
    String ref = registry.host() + "/private/app:1";
    try (MicroPodRuntime rt = runtime(null)) {
      assertThatThrownBy(() -> rt.pullImage(ref))
          .isInstanceOfSatisfying(RegistryAuthenticationException.class, e -> {
            assertThat(e.ref()).isEqualTo(ref);
            assertThat(e.registry()).isEqualTo(registry.host());
          })
          .hasMessageContaining("requires authentication").hasMessageContaining("docker login " + registry.host());
    }
  }

  @Test
  void aWrongPasswordFailsWithoutShowingIt() throws IOException {
    try (MicroPodRuntime rt = runtime(auths(registry.host(), USER, "wrong-password-123"))) {
      assertThatThrownBy(() -> rt.pullImage(registry.host() + "/private/app:1"))
          .isInstanceOf(RegistryAuthenticationException.class)
          .hasMessageContaining("rejected the credentials of user \"alice\"")
          .hasMessageNotContaining("wrong-password-123");
    }
  }

  @Test
  void basicAuthWithCredentialsFromDockerConfigPulls() throws IOException {
    try (MicroPodRuntime rt = runtime(auths(registry.host(), USER, PASSWORD))) {
      ImageInfo info = rt.pullImage(registry.host() + "/private/app:1");

      assertThat(info.digest()).isEqualTo(image.manifest().digest());
      assertThat(rt.images()).containsExactly(info);
    }
  }

  @Test
  void aCredentialHelperOnPathSuppliesTheCredentials() throws IOException {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path helper = bin.resolve("docker-credential-test");
    Files.writeString(helper, "#!/bin/sh\nread url\n[ \"$url\" = \"" + registry.host() + "\" ] || exit 1\n"
        + "echo '{\"Username\":\"" + USER + "\",\"Secret\":\"" + PASSWORD + "\"}'\n");
    Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwx------"));
    try (MicroPodRuntime rt = runtime("{\"credHelpers\":{\"" + registry.host() + "\":\"test\"}}")) {
      assertThat(rt.pullImage(registry.host() + "/private/app:1").digest()).isEqualTo(image.manifest().digest());
    }
  }

  @Test
  void anonymousBearerTokenFlow() throws IOException {
    try (TokenGate gate = new TokenGate(anonymous.port(), null, null, true);
        MicroPodRuntime rt = runtime(null)) {
      ImageInfo info = rt.pullImage(gate.host() + "/public/app:1");

      assertThat(info.digest()).isEqualTo(image.manifest().digest());
      assertThat(gate.scopes()).isNotEmpty().allMatch(s -> s.equals("repository:public/app:pull"));
      assertThat(gate.tokenRequests()).as("the token is cached for the repository").isEqualTo(1);
    }
  }

  @Test
  void bearerTokenWithCredentialsAndARejectedPassword() throws IOException {
    try (TokenGate gate = new TokenGate(anonymous.port(), "bob", "bobs-secret", false)) {
      try (MicroPodRuntime rt = runtime(auths(gate.host(), "bob", "bobs-secret"))) {
        assertThat(rt.pullImage(gate.host() + "/public/app:1").digest()).isEqualTo(image.manifest().digest());
      }
      try (MicroPodRuntime rt = runtime(auths(gate.host(), "bob", "not-bobs-secret"))) {
        // same home: the image is cached, so make it ask the registry
        assertThatThrownBy(() -> rt.pullImage(ImageRef.parse(gate.host() + "/public/app:1"), "linux/amd64",
            PullPolicy.ALWAYS))
            .isInstanceOfSatisfying(RegistryAuthenticationException.class,
                e -> assertThat(e.registry()).isEqualTo(gate.host()))
            .hasMessageContaining("token service").hasMessageNotContaining("not-bobs-secret");
      }
    }
  }

  @Test
  void imagesAndRemoveImageThroughTheRuntime() throws IOException {
    try (MicroPodRuntime rt = runtime(null)) {
      String ref = anonymous.host() + "/public/app:1";
      rt.pullImage(ref);
      assertThat(rt.images()).extracting(ImageInfo::ref).containsExactly(ref);

      assertThat(rt.removeImage(ref)).isTrue();

      assertThat(rt.images()).isEmpty();
      assertThat(rt.pruneImages()).isGreaterThan(0);
      assertThat(rt.home().resolve("store/blobs/sha256")).isEmptyDirectory();
      assertThatThrownBy(() -> rt.pullImage(ImageRef.parse(ref), "linux/amd64", PullPolicy.NEVER))
          .isInstanceOf(ImageException.class).hasMessageContaining("NEVER");
    }
  }
}
