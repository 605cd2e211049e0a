package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Parsing, normalizing and validating egress rules on the Java side (the guard matches them: netguard_test.c). */
@Timeout(10)
class EgressPolicyTest {

  @Test
  void cidrsAreNormalizedToTheirCanonicalFormWithAPrefix() {
    assertThat(EgressPolicy.normalize("192.0.2.0/24")).isEqualTo("192.0.2.0/24");
    assertThat(EgressPolicy.normalize(" 198.51.100.7 ")).isEqualTo("198.51.100.7/32");
    assertThat(EgressPolicy.normalize("0.0.0.0/0")).isEqualTo("0.0.0.0/0");
    assertThat(EgressPolicy.normalize("2001:DB8:0:0::/32")).isEqualTo("2001:db8:0:0:0:0:0:0/32");
    assertThat(EgressPolicy.normalize("2001:db8::1")).isEqualTo("2001:db8:0:0:0:0:0:1/128");
    assertThat(EgressPolicy.normalize("::ffff:192.0.2.1")).isEqualTo("192.0.2.1/32");
  }

  @Test
  void namesAreLowerCasedWithoutTheTrailingDot() {
    assertThat(EgressPolicy.normalize("Example.ORG.")).isEqualTo("example.org");
    assertThat(EgressPolicy.normalize("*.Example.org")).isEqualTo("*.example.org");
    assertThat(EgressPolicy.normalize("_srv.a-b.example.org")).isEqualTo("_srv.a-b.example.org");
  }

  @Test
  void malformedCidrsFailWithAMessageNamingThem() {
    assertThatThrownBy(() -> EgressPolicy.normalize("192.0.2.0/33"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("192.0.2.0/33").hasMessageContaining("0-32");
    assertThatThrownBy(() -> EgressPolicy.normalize("2001:db8::/129")).hasMessageContaining("0-128");
    assertThatThrownBy(() -> EgressPolicy.normalize("192.0.2.1/24"))
        .hasMessageContaining("host bits set").hasMessageContaining("did you mean 192.0.2.0/24?");
    assertThatThrownBy(() -> EgressPolicy.normalize("256.0.0.1")).hasMessageContaining("'256.0.0.1' is not an IPv4");
    assertThatThrownBy(() -> EgressPolicy.normalize("010.0.0.1")).hasMessageContaining("not an IPv4");
    assertThatThrownBy(() -> EgressPolicy.normalize("192.0.2.0/x")).hasMessageContaining("'x' is not a number");
    assertThatThrownBy(() -> EgressPolicy.normalize("192.0.2.0/+8")).hasMessageContaining("0-32");
    assertThatThrownBy(() -> EgressPolicy.normalize("192.0.2.0/24/8")).hasMessageContaining("more than one '/'");
    assertThatThrownBy(() -> EgressPolicy.normalize("example.org/24")).hasMessageContaining("not a CIDR");
    assertThatThrownBy(() -> EgressPolicy.normalize("zz::1")).hasMessageContaining("'zz::1' is not an IPv4 or IPv6");
    assertThatThrownBy(() -> EgressPolicy.normalize("1:2:3:4:5:6:7:8:9")).hasMessageContaining("not an IPv4 or IPv6");
  }

  @Test
  void malformedNamesFailWithAMessageNamingThem() {
    assertThatThrownBy(() -> EgressPolicy.normalize("")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty");
    assertThatThrownBy(() -> EgressPolicy.normalize("*")).hasMessageContaining("'*'");
    assertThatThrownBy(() -> EgressPolicy.normalize("a.*.example.org"))
        .hasMessageContaining("'a.*.example.org'").hasMessageContaining("'*' may only stand first");
    assertThatThrownBy(() -> EgressPolicy.normalize("*example.org")).hasMessageContaining("'*' may only stand first");
    assertThatThrownBy(() -> EgressPolicy.normalize("exa mple.org")).hasMessageContaining("'exa mple' is not a DNS label");
    assertThatThrownBy(() -> EgressPolicy.normalize("a..example.org")).hasMessageContaining("'' is not a DNS label");
    assertThatThrownBy(() -> EgressPolicy.normalize("-a.example.org")).hasMessageContaining("'-a' is not a DNS label");
    assertThatThrownBy(() -> EgressPolicy.normalize("a".repeat(64) + ".org")).hasMessageContaining("is not a DNS label");
    assertThatThrownBy(() -> EgressPolicy.normalize(("a".repeat(60) + ".").repeat(5) + "org"))
        .hasMessageContaining("1 to 253 characters");
    assertThatThrownBy(() -> EgressPolicy.normalize("1.2.3")).hasMessageContaining("ends in a number");
    assertThatThrownBy(() -> EgressPolicy.normalize(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void theBuilderNormalizesDropsRepeatsAndKeepsTheOrder() {
    EgressPolicy p = EgressPolicy.builder().defaultAction(EgressPolicy.Action.DENY)
        .allow("198.51.100.0/24", "*.Example.org").allow("198.51.100.0/24").deny("bad.example.org").build();

    assertThat(p.allowed()).containsExactly("198.51.100.0/24", "*.example.org");
    assertThat(p.denied()).containsExactly("bad.example.org");
    assertThat(p.defaultAction()).isEqualTo(EgressPolicy.Action.DENY);
    assertThat(p.isAllowAll()).isFalse();
    assertThat(p.newBuilder().build()).isEqualTo(p).hasSameHashCodeAs(p);
    assertThat(p).hasToString("EgressPolicy[default=DENY, allow=[198.51.100.0/24, *.example.org], deny=[bad.example.org]]");
  }

  @Test
  void aBadRuleLeavesTheBuilderAsItWas() {
    EgressPolicy.Builder b = EgressPolicy.builder().allow("192.0.2.0/24");

    assertThatThrownBy(() -> b.allow("198.51.100.0/24", "nope..org")).isInstanceOf(IllegalArgumentException.class);
    assertThat(b.build().allowed()).containsExactly("192.0.2.0/24");
  }

  @Test
  void noRulesAndDefaultAllowIsAllowAll() {
    assertThat(EgressPolicy.builder().build()).isSameAs(EgressPolicy.allowAll());
    assertThat(EgressPolicy.allowAll().isAllowAll()).isTrue();
    assertThat(EgressPolicy.builder().defaultAction(EgressPolicy.Action.DENY).build().isAllowAll()).isFalse();
  }

  @Test
  void theSpecCarriesItsEgressRulesAndValidatesThemAtTheSetter() {
    MicroPodSpec spec = MicroPod.builder().image("oci:/images/busybox").egressAllow("192.0.2.0/24")
        .egressDeny("*.example.org").egressDefault(EgressPolicy.Action.DENY).build();

    assertThat(spec.egress().allowed()).containsExactly("192.0.2.0/24");
    assertThat(spec.egress().denied()).containsExactly("*.example.org");
    assertThat(spec.egress().defaultAction()).isEqualTo(EgressPolicy.Action.DENY);
    assertThat(spec.newBuilder().build().egress()).isEqualTo(spec.egress());
    assertThat(spec.toString()).contains("egress=EgressPolicy[default=DENY");
    assertThat(MicroPod.builder().image("oci:/images/busybox").build().egress()).isSameAs(EgressPolicy.allowAll());
    assertThatThrownBy(() -> MicroPod.builder().egressAllow("192.0.2.0/99"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("192.0.2.0/99");
  }
}
