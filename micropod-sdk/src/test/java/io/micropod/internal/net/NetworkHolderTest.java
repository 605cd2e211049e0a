package io.micropod.internal.net;

import static io.micropod.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.NetworkException;
import io.micropod.internal.state.ProcStat;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The holder process and the membership of detached pods, without VMs: a real holder JVM, a
 * real {@code sleep} process standing for a detached pod's VMM.
 */
class NetworkHolderTest {
  @TempDir Path home;

  private List<NetworkRegistry.Recorded> recorded(String name) {
    return NetworkRegistry.list(home).stream().filter(r -> r.name().equals(name)).toList();
  }

  @Test
  @Timeout(90)
  void aHeldNetworkOutlivesItsCreatorUntilRemovedAndRemovingLeavesNoProcess() {
    long holder = NetworkHolder.spawn("held", home, NetworkHolder.Mode.UNTIL_REMOVED);
    try {
      ProcessHandle h = ProcessHandle.of(holder).orElseThrow();
      assertThat(NetworkHolder.isHolder(h, "held")).isTrue();
      assertThat(recorded("held")).singleElement().satisfies(r -> assertThat(r.ownerPid()).isEqualTo(holder));
      assertThatThrownBy(() -> NetworkHolder.spawn("held", home, NetworkHolder.Mode.UNTIL_REMOVED))
          .isInstanceOf(NetworkException.class).hasMessageContaining("a network named 'held' already exists");

      NetworkHolder.remove(home, "held", id -> id);

      assertThat(h.isAlive()).isFalse();
      assertThat(recorded("held")).isEmpty();
      assertThat(home.resolve("networks/held.json")).doesNotExist();
    } finally {
      ProcessHandle.of(holder).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  @Timeout(90)
  void removeRefusesANetworkWithPodsAndOneOfAnApplication() {
    NetworkRegistry mine = new NetworkRegistry(home);
    LocalNetwork app = mine.create("app", n -> new Object());
    try {
      app.attach("aaaaaaaaaaaa", List.of("web"));
      assertThatThrownBy(() -> NetworkHolder.remove(home, "app", id -> id.equals("aaaaaaaaaaaa") ? "web" : id))
          .isInstanceOf(NetworkException.class)
          .hasMessage("network app is in use by pod web: stop it first (micropod stop web)");
      app.detach("aaaaaaaaaaaa");
      assertThatThrownBy(() -> NetworkHolder.remove(home, "app", id -> id))
          .isInstanceOf(NetworkException.class)
          .hasMessageContaining("network app belongs to process " + ProcessHandle.current().pid());
      assertThatThrownBy(() -> NetworkHolder.remove(home, "nope", id -> id))
          .isInstanceOf(NetworkException.class).hasMessage("network nope not found");
    } finally {
      app.close();
    }
  }

  /**
   * An unused network moves into a holder when a detached pod is about to join; the detached
   * member stays after its starter's connection closed, until its VMM exits; then the holder,
   * used by nobody, exits and leaves nothing.
   */
  @Test
  @Timeout(90)
  void aHandedOverNetworkKeepsADetachedMemberWhileItsVmmRunsThenItsHolderExits() throws Exception {
    NetworkRegistry starter = new NetworkRegistry(home);
    LocalNetwork n = starter.create("moved", x -> new Object());
    Path oldPorts = n.switchDirectory();
    Process vmm = new ProcessBuilder("sleep", "600").start();
    try {
      starter.handOver(n);
      assertThat(n.owned()).isFalse();
      assertThat(n.isClosed()).isFalse();
      long holder = n.ownerPid();
      assertThat(holder).isNotEqualTo(ProcessHandle.current().pid());
      assertThat(oldPorts).doesNotExist();
      assertThat(recorded("moved")).singleElement().satisfies(r -> assertThat(r.ownerPid()).isEqualTo(holder));

      n.attach("dddddddddddd", List.of("db"));
      n.attach("ffffffffffff", List.of("fg"));
      n.announce("dddddddddddd", vmm.pid(), ProcStat.startTime(vmm.pid()).orElseThrow());
      n.announce("ffffffffffff");
      n.close(); // the starter ends: its foreground pod leaves, the detached one stays
      eventually(Duration.ofSeconds(10), "the foreground pod leaves",
          () -> recorded("moved").get(0).members().equals(List.of("dddddddddddd")));
      assertThat(ProcessHandle.of(holder).map(ProcessHandle::isAlive)).contains(true);

      vmm.destroyForcibly();
      vmm.waitFor();
      eventually(Duration.ofSeconds(15), "the network goes with its last pod", () -> recorded("moved").isEmpty());
      eventually(Duration.ofSeconds(15), "its holder exits",
          () -> ProcessHandle.of(holder).map(h -> !h.isAlive()).orElse(true));
    } finally {
      vmm.destroyForcibly();
      if (!n.owned()) {
        ProcessHandle.of(n.ownerPid()).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  @Test
  @Timeout(30)
  void aNetworkInUseDoesNotMove() {
    NetworkRegistry starter = new NetworkRegistry(home);
    LocalNetwork n = starter.create("busy", x -> new Object());
    try {
      n.attach("aaaaaaaaaaaa", List.of());
      assertThatThrownBy(() -> starter.handOver(n))
          .isInstanceOf(NetworkException.class)
          .hasMessageStartingWith("a detached pod cannot join network busy: its switch runs in this process")
          .hasMessageContaining("Start the detached pods on it before any other pod");
      assertThat(n.owned()).isTrue();
      assertThat(n.isClosed()).isFalse();
    } finally {
      n.close();
    }
  }
}
