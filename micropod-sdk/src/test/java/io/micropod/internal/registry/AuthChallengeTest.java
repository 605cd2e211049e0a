package io.micropod.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class AuthChallengeTest {

  @Test
  void parsesDockerHubsBearerChallenge() {
    List<AuthChallenge> c = AuthChallenge.parse(
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
            + "scope=\"repository:library/alpine:pull\"");

    assertThat(c).hasSize(1);
    assertThat(c.get(0).scheme()).isEqualTo("bearer");
    assertThat(c.get(0).param("realm")).isEqualTo("https://auth.docker.io/token");
    assertThat(c.get(0).param("service")).isEqualTo("registry.docker.io");
    assertThat(c.get(0).param("scope")).isEqualTo("repository:library/alpine:pull");
  }

  @Test
  void parsesBasicWithSpacesUnquotedValuesAndCaseInsensitiveNames() {
    List<AuthChallenge> c = AuthChallenge.parse("BASIC  Realm = micropod-test");

    assertThat(c).singleElement().satisfies(a -> {
      assertThat(a.scheme()).isEqualTo("basic");
      assertThat(a.param("realm")).isEqualTo("micropod-test");
    });
  }

  @Test
  void parsesSeveralChallengesInOneHeaderAndAcrossHeaders() {
    List<AuthChallenge> c = AuthChallenge.parse(List.of(
        "Basic realm=\"a, b\", Bearer realm=\"https://t/token\",service=\"s\"",
        "Negotiate"));

    assertThat(c).extracting(AuthChallenge::scheme).containsExactly("basic", "bearer", "negotiate");
    assertThat(c.get(0).param("realm")).isEqualTo("a, b");
    assertThat(c.get(1).param("service")).isEqualTo("s");
    assertThat(c.get(2).params()).isEmpty();
  }

  @Test
  void unescapesQuotedPairsAndKeepsEmptyValues() {
    List<AuthChallenge> c = AuthChallenge.parse("Bearer realm=\"say \\\"hi\\\"\",error=\"\"");

    assertThat(c.get(0).param("realm")).isEqualTo("say \"hi\"");
    assertThat(c.get(0).param("error")).isEmpty();
  }

  @Test
  void garbageGivesNoChallenge() {
    assertThat(AuthChallenge.parse("")).isEmpty();
    assertThat(AuthChallenge.parse("=\"x\"")).isEmpty();
  }
}
