package io.micropod.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DockerCredentialsTest {
  @TempDir Path tmp;

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private DockerCredentials inDockerConfig(String json) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("docker"));
    Files.writeString(dir.resolve("config.json"), json);
    return new DockerCredentials(Map.of("DOCKER_CONFIG", dir.toString(), "PATH", tmp.resolve("bin").toString()),
        tmp.resolve("home"));
  }

  @Test
  void readsBase64AuthForAHostWithPort() throws IOException {
    DockerCredentials c = inDockerConfig("{\"auths\":{\"registry.example:5000\":{\"auth\":\"" + b64("alice:pa:ss") + "\"}}}");

    RegistryCredential cred = c.lookup("registry.example:5000").orElseThrow();

    assertThat(cred.username()).isEqualTo("alice");
    assertThat(cred.secret()).isEqualTo("pa:ss");
    assertThat(cred.toString()).doesNotContain("pa:ss");
    assertThat(c.lookup("other.example")).isEmpty();
  }

  @Test
  void dockerHubsKeyServesDockerIo() throws IOException {
    DockerCredentials c = inDockerConfig("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + b64("bob:pw") + "\"}}}");

    assertThat(c.lookup("docker.io")).get().extracting(RegistryCredential::username).isEqualTo("bob");
  }

  @Test
  void urlKeysAreNormalisedAndIdentityTokensRecognised() throws IOException {
    DockerCredentials c = inDockerConfig("{\"auths\":{\"https://ghcr.example/v2/\":{\"identitytoken\":\"tok\"}}}");

    RegistryCredential cred = c.lookup("ghcr.example").orElseThrow();

    assertThat(cred.isIdentityToken()).isTrue();
    assertThat(cred.secret()).isEqualTo("tok");
  }

  @Test
  void defaultsToDotDockerInTheHomeDirectory() throws IOException {
    Path home = tmp.resolve("home");
    Files.createDirectories(home.resolve(".docker"));
    Files.writeString(home.resolve(".docker/config.json"),
        "{\"auths\":{\"r.example\":{\"username\":\"u\",\"password\":\"p\"}}}");

    DockerCredentials c = new DockerCredentials(Map.of(), home);

    assertThat(c.configFile()).isEqualTo(home.resolve(".docker/config.json"));
    assertThat(c.lookup("r.example")).get().extracting(RegistryCredential::secret).isEqualTo("p");
  }

  @Test
  void noFileMeansNoCredentials() throws IOException {
    assertThat(new DockerCredentials(Map.of(), tmp.resolve("nohome")).lookup("docker.io")).isEmpty();
  }

  @Test
  void brokenAuthSaysWhichEntry() throws IOException {
    DockerCredentials c = inDockerConfig("{\"auths\":{\"r.example\":{\"auth\":\"" + b64("nocolon") + "\"}}}");

    assertThatThrownBy(() -> c.lookup("r.example")).isInstanceOf(IOException.class)
        .hasMessageContaining("r.example").hasMessageContaining("user:password");
  }

  private void helper(String name, String script) throws IOException {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path exe = bin.resolve("docker-credential-" + name);
    Files.writeString(exe, script);
    Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void credHelpersRunTheHelperWithTheServerUrlOnStdin() throws IOException {
    helper("test", "#!/bin/sh\nread url\nif [ \"$1\" = get ] && [ \"$url\" = \"reg.example:5000\" ]; then\n"
        + "  echo '{\"ServerURL\":\"reg.example:5000\",\"Username\":\"helped\",\"Secret\":\"h-secret\"}'\n"
        + "else echo 'credentials not found in native keychain'; exit 1; fi\n");
    DockerCredentials c = inDockerConfig("{\"credHelpers\":{\"reg.example:5000\":\"test\"},"
        + "\"auths\":{\"reg.example:5000\":{}}}");

    RegistryCredential cred = c.lookup("reg.example:5000").orElseThrow();

    assertThat(cred.username()).isEqualTo("helped");
    assertThat(cred.secret()).isEqualTo("h-secret");
    assertThat(cred.source()).isEqualTo("docker-credential-test");
  }

  @Test
  void credsStoreGetsDockerHubsUrlAndFallsBackToAuthsWhenItHasNothing() throws IOException {
    helper("store", "#!/bin/sh\nread url\nif [ \"$url\" = \"https://index.docker.io/v1/\" ]; then\n"
        + "  echo '{\"Username\":\"hub\",\"Secret\":\"hub-secret\"}'\n"
        + "else echo 'credentials not found in native keychain'; exit 1; fi\n");
    DockerCredentials c = inDockerConfig("{\"credsStore\":\"store\","
        + "\"auths\":{\"other.example\":{\"auth\":\"" + b64("o:p") + "\"}}}");

    assertThat(c.lookup("docker.io")).get().extracting(RegistryCredential::username).isEqualTo("hub");
    assertThat(c.lookup("other.example")).get().extracting(RegistryCredential::username).isEqualTo("o");
    assertThat(c.lookup("third.example")).isEmpty();
  }

  @Test
  void aMissingHelperIsAClearError() throws IOException {
    DockerCredentials c = inDockerConfig("{\"credsStore\":\"nonexistent\"}");

    assertThatThrownBy(() -> c.lookup("docker.io")).isInstanceOf(IOException.class)
        .hasMessageContaining("docker-credential-nonexistent is not on PATH");
  }

  @Test
  void aFailingHelperIsAnError() throws IOException {
    helper("broken", "#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n");
    DockerCredentials c = inDockerConfig("{\"credsStore\":\"broken\"}");

    assertThatThrownBy(() -> c.lookup("r.example")).isInstanceOf(IOException.class)
        .hasMessageContaining("exit code 3").hasMessageContaining("keychain locked");
  }
}
