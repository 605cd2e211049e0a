package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetworkSpecTest {
  @TempDir Path home;

  @Test
  void defaultsAreNatWithoutNetworks() {
    MicroPodSpec spec = MicroPodSpec.builder().image("oci:/x").build();

    assertThat(spec.networkMode()).isEqualTo(NetworkMode.NAT);
    assertThat(spec.networks()).isEmpty();
    assertThat(spec.networkAliases()).isEmpty();
  }

  @Test
  void exposedHostPortsDefaultToNoneAddUpSortedAndSurviveNewBuilder() {
    assertThat(MicroPodSpec.builder().image("oci:/x").build().exposedHostPorts()).isEmpty();

    MicroPodSpec spec = MicroPodSpec.builder().image("oci:/x").exposeHostPorts(8080, 5432)
        .exposeHostPorts(8080, 1).build();

    assertThat(spec.exposedHostPorts()).containsExactly(1, 5432, 8080);
    assertThat(spec.newBuilder().build().exposedHostPorts()).containsExactly(1, 5432, 8080);
    assertThat(spec.newBuilder().build()).isEqualTo(spec);
  }

  @Test
  void anExposedHostPortOutsideTheTcpRangeIsRejectedAtTheCallSite() {
    for (int bad : new int[] {0, -1, 65536}) {
      assertThatThrownBy(() -> MicroPodSpec.builder().exposeHostPorts(bad))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1-65535").hasMessageContaining("" + bad);
    }
  }

  @Test
  void networksAndAliasesAreKeptAndCopiedByNewBuilder() {
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(home).build();
         Network net = runtime.newNetwork("front")) {
      MicroPodSpec spec = MicroPodSpec.builder().image("oci:/x").runtime(runtime).network(net)
          .networkAliases("db", "db.internal").build();

      assertThat(spec.networks()).containsExactly(net);
      assertThat(spec.networkAliases()).containsExactly("db", "db.internal");
      assertThat(spec.newBuilder().build()).isEqualTo(spec);
      assertThat(spec.toString()).contains("networks=[Network{front, 10.89.1.0/24}]");
      assertThatThrownBy(() -> MicroPodSpec.builder().network(net).network(net))
          .isInstanceOf(IllegalArgumentException.class).hasMessage("network already added: front");
    }
  }

  @Test
  void aDetachedPodWithPublishedPortsNeedsTheNat() {
    assertThatThrownBy(() -> MicroPodSpec.builder().image("oci:/x").networkMode(NetworkMode.NONE)
            .detached(true).port(80).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("served by its NAT device").hasMessageContaining("use NAT, or do not detach");
    MicroPodSpec.builder().image("oci:/x").networkMode(NetworkMode.NONE).port(80).build();
    MicroPodSpec.builder().image("oci:/x").detached(true).port(80).build();
  }

  /**
   * A detached pod may join a network: its membership is kept by the network's holder while its
   * VM runs (DetachedNetworkIT proves the rest with VMs).
   */
  @Test
  void aDetachedPodMayJoinANetwork() {
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(home).build();
         Network net = runtime.newNetwork("front")) {
      MicroPodSpec spec = MicroPodSpec.builder().image("oci:/x").runtime(runtime).network(net)
          .networkAliases("db").detached(true).build();
      assertThat(spec.detached()).isTrue();
      assertThat(spec.networks()).containsExactly(net);
    }
  }

  @Test
  void noneCannotJoinNetworksAndAliasesNeedANetwork() {
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(home).build();
         Network net = runtime.newNetwork("front")) {
      assertThatThrownBy(() -> MicroPodSpec.builder().image("oci:/x").networkMode(NetworkMode.NONE)
              .network(net).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("networkMode NONE (only loopback) cannot join networks [front]");
    }
    assertThatThrownBy(() -> MicroPodSpec.builder().image("oci:/x").networkAliases("db").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("need a network");
  }

  @Test
  void badAliasesAndNamesAreRefusedAtTheSetter() {
    MicroPodSpec.Builder b = MicroPodSpec.builder();

    assertThatThrownBy(() -> b.networkAliases("-db")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'-db'");
    assertThatThrownBy(() -> b.networkAliases("a b")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.networkAliases("db", "DB")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("given twice");
    assertThatThrownBy(() -> b.networkAliases(Network.HOST_NAME))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(home).build()) {
      assertThatThrownBy(() -> runtime.newNetwork("../etc"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid network name");
    }
  }

  @Test
  void closingTheRuntimeClosesItsNetworks() {
    MicroPodRuntime runtime = MicroPodRuntime.builder().home(home).build();
    Network net = runtime.newNetwork();

    runtime.close();

    assertThat(net.isClosed()).isTrue();
    assertThat(net.name()).startsWith("micropod-");
    assertThat(home.resolve("networks").resolve(net.name() + ".json")).doesNotExist();
  }
}
