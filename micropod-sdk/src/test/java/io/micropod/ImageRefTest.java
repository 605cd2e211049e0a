package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ImageRefTest {
  private static final String DIGEST =
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  @ParameterizedTest
  @CsvSource({
    "alpine, docker.io/library/alpine:latest",
    "alpine:3.20, docker.io/library/alpine:3.20",
    "library/alpine, docker.io/library/alpine:latest",
    "docker.io/library/alpine:3.20, docker.io/library/alpine:3.20",
    "index.docker.io/library/alpine, docker.io/library/alpine:latest",
    "docker.io/alpine, docker.io/library/alpine:latest",
    "bitnami/redis:7, docker.io/bitnami/redis:7",
    "ghcr.io/owner/app:v1.2.3, ghcr.io/owner/app:v1.2.3",
    "localhost/app, localhost/app:latest",
    "localhost:5000/a/b, localhost:5000/a/b:latest",
    "127.0.0.1:5000/team/app:dev, 127.0.0.1:5000/team/app:dev",
    "my-registry.example.com/a.b/c_d/e__f/g--h, my-registry.example.com/a.b/c_d/e__f/g--h:latest",
  })
  void registryReferencesFollowDockersNormalisation(String input, String normalised) {
    ImageRef ref = ImageRef.parse(input);

    assertThat(ref.toString()).isEqualTo(normalised);
    assertThat(ref.isOciLayout()).isFalse();
    assertThat(ref.layoutDir()).isEmpty();
    assertThat(ImageRef.parse(ref.toString())).isEqualTo(ref);
  }

  @Test
  void partsOfARegistryReference() {
    ImageRef ref = ImageRef.parse("host:5000/a/b@" + DIGEST);

    assertThat(ref.registry()).hasValue("host:5000");
    assertThat(ref.repository()).hasValue("a/b");
    assertThat(ref.tag()).isEmpty();
    assertThat(ref.digest()).hasValue(DIGEST);
    assertThat(ref.toString()).isEqualTo("host:5000/a/b@" + DIGEST);
  }

  @Test
  void tagAndDigestTogether() {
    ImageRef ref = ImageRef.parse("alpine:3.20@" + DIGEST);

    assertThat(ref.tag()).hasValue("3.20");
    assertThat(ref.digest()).hasValue(DIGEST);
    assertThat(ref.toString()).isEqualTo("docker.io/library/alpine:3.20@" + DIGEST);
  }

  @Test
  void ociLayoutWithTag() {
    ImageRef ref = ImageRef.parse("oci:/images/busybox:1.36");

    assertThat(ref.isOciLayout()).isTrue();
    assertThat(ref.layoutDir()).hasValue(Path.of("/images/busybox"));
    assertThat(ref.tag()).hasValue("1.36");
    assertThat(ref.registry()).isEmpty();
    assertThat(ref.toString()).isEqualTo("oci:/images/busybox:1.36");
  }

  @Test
  void ociLayoutTagDefaultsToLatest() {
    ImageRef ref = ImageRef.parse("oci:/images/busybox");

    assertThat(ref.tag()).hasValue("latest");
    assertThat(ref).isEqualTo(ImageRef.ociLayout(Path.of("/images/busybox"), "latest"));
  }

  @Test
  void archivesUseSkopeosSyntax() {
    ImageRef docker = ImageRef.parse("docker-archive:/tmp/app.tar:app:1");
    ImageRef oci = ImageRef.parse("oci-archive:rel/img.tar");

    assertThat(docker.isArchive()).isTrue();
    assertThat(docker.isRegistry()).isFalse();
    assertThat(docker.archiveKind()).hasValue(ImageRef.DOCKER_ARCHIVE);
    assertThat(docker.archive()).hasValue(Path.of("/tmp/app.tar"));
    assertThat(docker.tag()).hasValue("app:1");
    assertThat(docker.toString()).isEqualTo("docker-archive:/tmp/app.tar:app:1");
    assertThat(oci.archiveKind()).hasValue(ImageRef.OCI_ARCHIVE);
    assertThat(oci.archive()).hasValue(Path.of("rel/img.tar").toAbsolutePath());
    assertThat(oci.tag()).isEmpty();
    assertThat(ImageRef.parse(oci.toString())).isEqualTo(oci);
    assertThat(ImageRef.parse("alpine").isRegistry()).isTrue();
  }

  @Test
  void relativeOciLayoutIsMadeAbsolute() {
    ImageRef ref = ImageRef.parse("oci:layouts/app:v1");

    assertThat(ref.layoutDir()).hasValue(Path.of("layouts/app").toAbsolutePath().normalize());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "''| empty",
    "' alpine'| whitespace",
    "Alpine| lowercase",
    "docker.io/Library/alpine| lowercase",
    "alpine:| invalid tag",
    "alpine:-x| invalid tag",
    "alpine@sha256:abc| invalid digest",
    "alpine@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef| 64 lowercase hex",
    "a//b| invalid repository name component",
    "a/b_/c| invalid repository name component",
    ":tag| no repository name",
    "oci:| no directory",
    "oci::tag| no directory",
    "oci:/x:| empty tag",
    "oci:/x:bad tag| invalid tag",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef| image id",
    "docker-archive:| no file",
    "oci-archive::x| no file",
    "docker-archive:/x.tar:| empty image name",
    "oci-archive:/x.tar:bad name| invalid image name",
  })
  void invalidReferencesNameWhatIsWrong(String input, String problem) {
    assertThatThrownBy(() -> ImageRef.parse(input))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(problem);
  }

  @ParameterizedTest
  @ValueSource(strings = {"bad tag", "", "-x"})
  void ociLayoutFactoryValidatesTheTag(String tag) {
    assertThatThrownBy(() -> ImageRef.ociLayout(Path.of("/x"), tag))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tag");
  }
}
