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
    Path socket = n.ethernet().socket();
    assertThat(socket).exists();

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
}
