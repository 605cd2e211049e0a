package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micropod.HealthCheck;
import io.micropod.MicroPodSpec;
import io.micropod.internal.agent.Supervising;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Docker's {@code config.Healthcheck} in an image config, and how the spec overrides it. */
class ImageHealthcheckTest {
  private static ImageConfig parse(String healthcheck) throws Exception {
    return parse(healthcheck, "");
  }

  private static ImageConfig parse(String healthcheck, String more) throws Exception {
    return OciLayout.parseConfig(new ObjectMapper().readTree(
        "{\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]" + (healthcheck == null ? "" : ",\"Healthcheck\":" + healthcheck)
            + more + "}}"));
  }

  @Test
  void cmdShellRunsInTheImagesShellAsDockerDoes() throws Exception {
    // Docker runs CMD-SHELL with the config's Shell (a Dockerfile's SHELL), /bin/sh -c without one
    HealthCheck h = parse("{\"Test\":[\"CMD-SHELL\",\"test -f /tmp/ok\"]}",
        ",\"Shell\":[\"/bin/ash\",\"-eo\",\"pipefail\",\"-c\"]").healthcheck();
    assertThat(h.command()).containsExactly("/bin/ash", "-eo", "pipefail", "-c", "test -f /tmp/ok");
  }

  @Test
  void cmdShellWithMoreWordsPassesThemAfterTheLineAsDockerDoes() throws Exception {
    // moby appends Test[1:] to the shell: the extra words are the script's $0, $1...
    HealthCheck h = parse("{\"Test\":[\"CMD-SHELL\",\"test -f \\\"$1\\\"\",\"probe\",\"/tmp/ok\"]}").healthcheck();
    assertThat(h.command()).containsExactly("/bin/sh", "-c", "test -f \"$1\"", "probe", "/tmp/ok");
  }

  @Test
  void cmdShellWithNanosecondDurationsIsRead() throws Exception {
    HealthCheck h = parse("{\"Test\":[\"CMD-SHELL\",\"curl -f http://localhost/\"],\"Interval\":5000000000,"
        + "\"Timeout\":2000000000,\"StartPeriod\":10000000000,\"Retries\":4}").healthcheck();
    assertThat(h.command()).containsExactly("/bin/sh", "-c", "curl -f http://localhost/");
    assertThat(h.interval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(h.timeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(h.startPeriod()).isEqualTo(Duration.ofSeconds(10));
    assertThat(h.retries()).isEqualTo(4);
  }

  @Test
  void cmdFormAndZeroValuesTakeTheDefaults() throws Exception {
    HealthCheck h = parse("{\"Test\":[\"CMD\",\"/bin/check\",\"--quick\"],\"Interval\":0}").healthcheck();
    assertThat(h.command()).containsExactly("/bin/check", "--quick");
    assertThat(h.interval()).isEqualTo(HealthCheck.DEFAULT_INTERVAL);
    assertThat(h.retries()).isEqualTo(HealthCheck.DEFAULT_RETRIES);
  }

  @Test
  void noneAbsentAndMalformedChecks() throws Exception {
    assertThat(parse("{\"Test\":[\"NONE\"]}").healthcheck()).isEqualTo(HealthCheck.none());
    assertThat(parse(null).healthcheck()).isNull();
    assertThat(parse("{\"Test\":[]}").healthcheck()).isNull();
    assertThat(parse("{\"Test\":[\"CMD\"]}").healthcheck()).as("no command").isNull();
    assertThat(parse("{\"Test\":[\"BOGUS\",\"x\"]}").healthcheck()).isNull();
    assertThat(parse("{\"Test\":[\"CMD\",\"x\"],\"Retries\":-3}").healthcheck().retries()).isEqualTo(3);
  }

  @Test
  void theSpecsCheckWinsAndNoneDisablesTheImages() throws Exception {
    HealthCheck image = parse("{\"Test\":[\"CMD\",\"/bin/check\"]}").healthcheck();
    MicroPodSpec plain = MicroPodSpec.builder().image("oci:/i").build();
    assertThat(Supervising.of(plain, image).health()).isEqualTo(image);
    assertThat(Supervising.of(plain.newBuilder().healthcheck(HealthCheck.of("true")).build(), image).health())
        .isEqualTo(HealthCheck.of("true"));
    assertThat(Supervising.of(plain.newBuilder().healthcheck(HealthCheck.none()).build(), image).health()).isNull();
    assertThat(Supervising.of(plain, HealthCheck.none()).health()).isNull();
  }
}
