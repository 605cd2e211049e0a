package io.micropod.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micropod.ImageException;
import io.micropod.internal.image.Platforms;
import org.junit.jupiter.api.Test;

class PlatformsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode index(String... platforms) throws Exception {
    StringBuilder sb = new StringBuilder("{\"schemaVersion\":2,\"manifests\":[");
    for (int i = 0; i < platforms.length; i++) {
      String[] p = platforms[i].split("/");
      sb.append(i > 0 ? "," : "").append("{\"digest\":\"d").append(i).append("\",\"platform\":{\"os\":\"")
          .append(p[0]).append("\",\"architecture\":\"").append(p[1]).append('"')
          .append(p.length > 2 ? ",\"variant\":\"" + p[2] + "\"" : "").append("}}");
    }
    return JSON.readTree(sb.append("]}").toString());
  }

  private static String pick(JsonNode index, String platform) {
    return Platforms.select("r", index, platform).path("digest").asText();
  }

  @Test
  void picksOsAndArchitecture() throws Exception {
    JsonNode idx = index("linux/arm64/v8", "unknown/unknown", "linux/amd64", "windows/amd64");

    assertThat(pick(idx, "linux/amd64")).isEqualTo("d2");
    assertThat(pick(idx, "linux/arm64")).isEqualTo("d0");
    assertThat(pick(idx, "linux/arm64/v8")).isEqualTo("d0");
    assertThat(pick(idx, "windows/amd64")).isEqualTo("d3");
  }

  @Test
  void variantsMatchExactlyWhenAsked() throws Exception {
    JsonNode idx = index("linux/arm/v6", "linux/arm/v7", "linux/amd64/v3", "linux/amd64");

    assertThat(pick(idx, "linux/arm/v7")).isEqualTo("d1");
    assertThat(pick(idx, "linux/arm/v6")).isEqualTo("d0");
    assertThat(pick(idx, "linux/amd64")).isEqualTo("d3");
    assertThat(pick(idx, "linux/amd64/v3")).isEqualTo("d2");
  }

  @Test
  void noMatchListsWhatTheIndexHas() throws Exception {
    JsonNode idx = index("linux/arm64/v8", "linux/s390x");

    assertThatThrownBy(() -> pick(idx, "linux/amd64")).isInstanceOf(ImageException.class)
        .hasMessageContaining("no manifest for linux/amd64")
        .hasMessageContaining("[linux/arm64/v8, linux/s390x]");
  }
}
