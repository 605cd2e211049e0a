package io.micropod.internal.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.NetworkException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetworkRegistryTest {
  @TempDir Path home;

  private static LocalNetwork create(NetworkRegistry r, String name) {
    return r.create(name, n -> new Object());
  }

  @Test
  void createsARecordAndASwitchAndCloseRemovesBoth() throws IOException {
    NetworkRegistry r = new NetworkRegistry(home);
    LocalNetwork n = create(r, "backend");
    Path record = home.resolve("networks/backend.json");

    assertThat(n.subnet()).isEqualTo("10.89.1.0/24");
    assertThat(Files.readString(record)).contains("\"name\" : \"backend\"", "\"subnet\" : \"10.89.1.0/24\"",
        "\"ownerPid\" : " + ProcessHandle.current().pid());
    assertThat(NetworkRegistry.recorded(home)).containsExactly("backend");
    Path socket = n.nic(n.attach("aaaaaaaaaaaa", List.of())).switchSocket();
    assertThat(socket).exists().hasParent(n.switchDirectory());

    n.close();
    n.close();

    assertThat(record).doesNotExist();
    assertThat(socket).doesNotExist();
    assertThat(socket.getParent()).doesNotExist();
    assertThat(r.find(n.handle())).isNull();
  }

  @Test
  void aNameTakenInAnotherRegistryOfTheSameHomeIsRefusedAndTheFirstSurvives() {
    NetworkRegistry first = new NetworkRegistry(home);
    NetworkRegistry second = new NetworkRegistry(home);
    LocalNetwork n = create(first, "db");
    try {
      assertThatThrownBy(() -> create(second, "db"))
          .isInstanceOf(NetworkException.class)
          .hasMessageContaining("a network named 'db' already exists (created by this process");
      assertThatThrownBy(() -> create(first, "db")).isInstanceOf(NetworkException.class);

      assertThat(first.find(n.handle())).isSameAs(n);
      assertThat(n.isClosed()).isFalse();
      assertThat(home.resolve("networks/db.json")).exists();
    } finally {
      n.close();
    }
  }

  @Test
  void aRecordOfADeadProcessIsReclaimedAndSubnetsAreDistinct() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    Files.createDirectories(home.resolve("networks"));
    Files.writeString(home.resolve("networks/old.json"),
        "{\"name\":\"old\",\"subnet\":\"10.89.1.0/24\",\"ownerPid\":" + p.pid() + "}");
    NetworkRegistry r = new NetworkRegistry(home);

    LocalNetwork old = create(r, "old");
    LocalNetwork other = create(r, "other");
    try {
      assertThat(old.subnet()).isEqualTo("10.89.1.0/24");
      assertThat(other.subnet()).isEqualTo("10.89.2.0/24");
    } finally {
      old.close();
      other.close();
    }
  }

  @Test
  void membersGetDistinctAddressesAndMacsAndAliasesAreUniqueIgnoringCase() {
    NetworkRegistry r = new NetworkRegistry(home);
    LocalNetwork n = create(r, "front");
    try {
      LocalNetwork.Member a = n.attach("aaaaaaaaaaaa", List.of("web"));
      LocalNetwork.Member b = n.attach("bbbbbbbbbbbb", List.of());

      assertThat(a.address()).isEqualTo("10.89.1.2");
      assertThat(b.address()).isEqualTo("10.89.1.3");
      assertThat(a.mac()).isEqualTo("02:6d:70:59:01:02");
      assertThatThrownBy(() -> n.attach("cccccccccccc", List.of("Web")))
          .isInstanceOf(NetworkException.class)
          .hasMessageContaining("the name 'web' is already used on network front by pod aaaaaaaaaaaa");
      assertThatThrownBy(() -> n.attach("dddddddddddd", List.of("bbbbbbbbbbbb")))
          .isInstanceOf(NetworkException.class);
      assertThat(n.members()).extracting(LocalNetwork.Member::podId)
          .containsExactly("aaaaaaaaaaaa", "bbbbbbbbbbbb");

      n.detach("aaaaaaaaaaaa");
      assertThat(n.attach("eeeeeeeeeeee", List.of("web")).address()).isEqualTo("10.89.1.2");
    } finally {
      n.close();
    }
    assertThatThrownBy(() -> n.attach("ffffffffffff", List.of()))
        .isInstanceOf(NetworkException.class).hasMessageContaining("network front is closed");
  }

  @Test
  void membershipChangesRunTheOtherMembersRefreshers() {
    NetworkRegistry r = new NetworkRegistry(home);
    LocalNetwork n = create(r, "front");
    try {
      int[] calls = new int[2];
      n.attach("aaaaaaaaaaaa", List.of());
      n.onChange("aaaaaaaaaaaa", () -> calls[0]++);
      n.attach("bbbbbbbbbbbb", List.of());
      n.onChange("bbbbbbbbbbbb", () -> calls[1]++);

      n.announce("bbbbbbbbbbbb");
      n.detach("bbbbbbbbbbbb");

      assertThat(calls).containsExactly(2, 0);
    } finally {
      n.close();
    }
  }

  @Test
  void hostsFileListsEveryMemberAndTheHostName() {
    NetworkRegistry r = new NetworkRegistry(home);
    LocalNetwork n = create(r, "front");
    try {
      n.attach("aaaaaaaaaaaa", List.of("web", "www"));
      n.attach("bbbbbbbbbbbb", List.of());

      String nat = HostsFile.render("bbbbbbbbbbbb", true, List.of(n));
      String none = HostsFile.render("cccccccccccc", false, List.of());

      assertThat(nat).contains("127.0.0.1\tlocalhost\n", "10.0.2.2\thost.micropod.internal\n",
          "10.89.1.2\taaaaaaaaaaaa web www\n", "10.89.1.3\tbbbbbbbbbbbb\n");
      assertThat(none).contains("127.0.1.1\tcccccccccccc\n").doesNotContain("host.micropod.internal");
      assertThat(HostsFile.resolvConf(true)).contains("nameserver 10.0.2.3\n");
      assertThat(HostsFile.resolvConf(false)).doesNotContain("nameserver");
    } finally {
      n.close();
    }
  }

  /** Polls {@code condition} for up to 10 s. */
  private static void eventually(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("condition not met within 10 s");
      }
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
    }
  }

  // Two registries on one home stand for two processes: the joined one talks to the owner over
  // the control socket exactly as another JVM does (NetworkCrossProcessIT runs a real second JVM).

  @Test
  void anotherRegistryJoinsThroughTheControlSocketAndBothSeeOneMembership() throws Exception {
    NetworkRegistry owner = new NetworkRegistry(home);
    NetworkRegistry other = new NetworkRegistry(home);
    LocalNetwork n = create(owner, "shared");
    try {
      n.attach("aaaaaaaaaaaa", List.of("web"));
      int[] ownerCalls = new int[1];
      n.onChange("aaaaaaaaaaaa", () -> ownerCalls[0]++);

      LocalNetwork j = other.join("shared", x -> new Object());
      assertThat(j.owned()).isFalse();
      assertThat(j.ethernet()).isNull();
      assertThat(j.ownerPid()).isEqualTo(ProcessHandle.current().pid());
      assertThat(j.subnet()).isEqualTo("10.89.1.0/24");
      assertThat(j.switchDirectory()).isEqualTo(n.switchDirectory());
      assertThat(j.members()).extracting(LocalNetwork.Member::podId).containsExactly("aaaaaaaaaaaa");

      LocalNetwork.Member b = j.attach("bbbbbbbbbbbb", List.of("peer"));
      assertThat(b.address()).isEqualTo("10.89.1.3");
      assertThat(b.mac()).isEqualTo("02:6d:70:59:01:03");
      assertThat(j.nic(b).switchSocket()).isEqualTo(EthernetSwitch.portSocket(n.switchDirectory(), 3)).exists();
      assertThat(n.members()).extracting(LocalNetwork.Member::podId).containsExactly("aaaaaaaaaaaa", "bbbbbbbbbbbb");
      assertThat(Files.readString(home.resolve("networks/shared.json"))).contains("bbbbbbbbbbbb", "peer");
      assertThatThrownBy(() -> j.attach("cccccccccccc", List.of("WEB")))
          .isInstanceOf(NetworkException.class)
          .hasMessageContaining("the name 'web' is already used on network shared by pod aaaaaaaaaaaa");

      int[] joinedCalls = new int[1];
      j.onChange("bbbbbbbbbbbb", () -> joinedCalls[0]++);
      j.announce("bbbbbbbbbbbb");
      eventually(() -> ownerCalls[0] == 1);

      n.attach("dddddddddddd", List.of());
      n.announce("dddddddddddd");
      eventually(() -> joinedCalls[0] >= 1 && j.members().size() == 3);
      assertThat(other.join("shared", x -> new Object())).isSameAs(j);
      assertThat(NetworkRegistry.list(home)).singleElement().satisfies(rec -> {
        assertThat(rec.name()).isEqualTo("shared");
        assertThat(rec.members()).containsExactly("aaaaaaaaaaaa", "bbbbbbbbbbbb", "dddddddddddd");
      });

      j.detach("bbbbbbbbbbbb");
      eventually(() -> n.members().size() == 2 && j.members().size() == 2);
    } finally {
      n.close();
    }
  }

  @Test
  void whenTheJoinedSideGoesAwayTheOwnerDetachesItsPods() {
    NetworkRegistry owner = new NetworkRegistry(home);
    NetworkRegistry other = new NetworkRegistry(home);
    LocalNetwork n = create(owner, "shared");
    try {
      n.attach("aaaaaaaaaaaa", List.of());
      int[] calls = new int[1];
      n.onChange("aaaaaaaaaaaa", () -> calls[0]++);
      LocalNetwork j = other.join("shared", x -> new Object());
      j.attach("bbbbbbbbbbbb", List.of("peer"));
      j.attach("cccccccccccc", List.of());

      other.closeAll(); // what the end of the other process does, SIGKILL included: its socket closes

      eventually(() -> n.members().size() == 1);
      assertThat(calls[0]).isPositive();
      assertThat(j.isClosed()).isTrue();
      assertThat(n.isClosed()).isFalse();
      assertThat(home.resolve("networks/shared.json")).exists();
      assertThat(n.attach("dddddddddddd", List.of("peer")).address()).isEqualTo("10.89.1.3");
    } finally {
      n.close();
    }
  }

  @Test
  void whenTheOwnerClosesTheJoinedHandlesCloseAndSayWhy() {
    NetworkRegistry owner = new NetworkRegistry(home);
    NetworkRegistry other = new NetworkRegistry(home);
    LocalNetwork n = create(owner, "shared");
    LocalNetwork j = other.join("shared", x -> new Object());
    j.attach("bbbbbbbbbbbb", List.of());
    Path dir = n.switchDirectory();

    n.close();

    eventually(j::isClosed);
    assertThat(j.closedMessage()).contains("network shared is gone: process " + ProcessHandle.current().pid());
    assertThatThrownBy(() -> j.attach("cccccccccccc", List.of()))
        .isInstanceOf(NetworkException.class).hasMessageContaining("is gone");
    assertThat(dir).doesNotExist();
    assertThat(home.resolve("networks/shared.json")).doesNotExist();
    assertThatThrownBy(() -> other.join("shared", x -> new Object()))
        .isInstanceOf(NetworkException.class)
        .hasMessageContaining("no network named 'shared'");
  }

  @Test
  void joiningANetworkWhoseOwnerDiedFailsAndRemovesItsLeftovers() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "micropod-net-test");
    Files.createFile(dir.resolve("switch.sock"));
    Files.createFile(dir.resolve("control.sock"));
    Files.createDirectories(home.resolve("networks"));
    Files.writeString(home.resolve("networks/dead.json"),
        "{\"name\":\"dead\",\"subnet\":\"10.89.1.0/24\",\"ownerPid\":" + p.pid()
            + ",\"switchSocket\":\"" + dir.resolve("switch.sock") + "\",\"controlSocket\":\""
            + dir.resolve("control.sock") + "\"}");
    NetworkRegistry r = new NetworkRegistry(home);

    assertThatThrownBy(() -> r.join("dead", x -> new Object()))
        .isInstanceOf(NetworkException.class)
        .hasMessageContaining("network 'dead' is gone: process " + p.pid()
            + " that created it exited without closing it");

    assertThat(home.resolve("networks/dead.json")).doesNotExist();
    assertThat(dir).doesNotExist();
    assertThat(NetworkRegistry.list(home)).isEmpty();
  }

  @Test
  void aRecordWhosePidWasRecycledIsStale() throws Exception {
    Files.createDirectories(home.resolve("networks"));
    // this JVM's pid, but another start time: the pid was recycled
    Files.writeString(home.resolve("networks/recycled.json"),
        "{\"name\":\"recycled\",\"subnet\":\"10.89.1.0/24\",\"ownerPid\":" + ProcessHandle.current().pid()
            + ",\"ownerStart\":1}");

    assertThat(NetworkRegistry.list(home)).isEmpty();
    assertThat(home.resolve("networks/recycled.json")).doesNotExist();
  }
}
