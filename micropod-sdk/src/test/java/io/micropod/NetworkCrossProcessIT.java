package io.micropod;

import static io.micropod.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Networks across processes with a real second JVM ({@link PodMain}) and real VMs: a network of
 * this JVM joined by another, pods of both reaching each other by alias; what SIGKILL of either
 * side leaves (nothing) and the errors afterwards.
 */
class NetworkCrossProcessIT {

  @Test
  void aSecondJvmJoinsByNameAndPodsOfBothReachEachOtherByAliasUntilItIsKilled() throws Exception {
    String name = "xnet-" + ProcessHandle.current().pid();
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    String peerId = null;
    try (Network net = runtime.newNetwork(name);
         MicroPod web = MicroPod.builder().image(TestImages.busybox()).network(net).networkAliases("web")
             .command("sh", "-c", "mkdir -p /www; echo hello from web > /www/index.html;"
                 + " exec httpd -f -p 8080 -h /www").start();
         ChildJvm child = ChildJvm.start("net-join", name)) {
      assertThat(child.await("LISTED ", Duration.ofMinutes(2))).contains(name);
      assertThat(child.await("CREATE-REFUSED ", Duration.ofMinutes(1)))
          .contains("a network named '" + name + "' already exists (created by process "
              + ProcessHandle.current().pid());
      assertThat(child.await("JOINED ", Duration.ofMinutes(1)))
          .isEqualTo("owned=false owner=" + ProcessHandle.current().pid() + " subnet=" + net.subnet());
      peerId = child.await("POD ", Duration.ofMinutes(4));
      // the child's pod reached this JVM's pod by alias
      assertThat(child.await("WEB ", Duration.ofMinutes(2))).isEqualTo("hello from web");

      // and this JVM's pod reaches the child's by alias and by id
      String peer = peerId;
      assertThat(net.members()).containsExactly(web.id(), peerId);
      ExecResult r = null;
      Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
      do {
        r = web.exec("timeout", "5", "wget", "-q", "-O-", "http://peer:8080/");
      } while (r.exitCode() != 0 && Instant.now().isBefore(deadline));
      assertThat(r.stdout()).isEqualTo("hello from peer\n");
      assertThat(web.exec("timeout", "5", "wget", "-q", "-O-", "http://" + peer + ":8080/").stdout())
          .isEqualTo("hello from peer\n");
      assertThat(runtime.networks()).filteredOn(i -> i.name().equals(name)).singleElement()
          .satisfies(i -> assertThat(i.members()).containsExactly(web.id(), peer));

      // SIGKILL: the child's pod leaves the network and this pod's /etc/hosts
      child.process().destroyForcibly();
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      eventually(Duration.ofSeconds(30), "the killed JVM's pod leaves the network",
          () -> net.members().equals(java.util.List.of(web.id())));
      eventually(Duration.ofSeconds(30), "web's /etc/hosts forgets peer",
          () -> !web.exec("cat", "/etc/hosts").stdout().contains("peer"));
      eventually(Duration.ofSeconds(30), "the killed JVM's VMM dies with it",
          () -> Leaks.of(peer).stream().noneMatch(l -> l.startsWith("process")));
      assertThat(net.isClosed()).isFalse();
    } finally {
      if (peerId != null) {
        runtime.list(); // sweeps what the killed JVM left
        assertThat(Leaks.of(peerId)).isEmpty();
      }
    }
    assertThat(TestImages.home().resolve("networks").resolve(name + ".json")).doesNotExist();
  }

  @Test
  void whenTheOwningJvmDiesItsNetworkGoesAwayAndJoiningItSaysSo() throws Exception {
    String name = "xown-" + ProcessHandle.current().pid();
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    try (ChildJvm child = ChildJvm.start("net-own", name)) {
      String created = child.await("NETWORK ", Duration.ofMinutes(2));
      long owner = child.process().pid();
      assertThat(runtime.networks()).filteredOn(i -> i.name().equals(name)).singleElement()
          .satisfies(i -> assertThat(i.ownerPid()).isEqualTo(owner));
      assertThatThrownBy(() -> runtime.newNetwork(name))
          .isInstanceOf(NetworkException.class)
          .hasMessageContaining("a network named '" + name + "' already exists (created by process " + owner);
      Network handle = runtime.network(name);
      assertThat(handle.owned()).isFalse();
      assertThat(handle.ownerPid()).isEqualTo(owner);
      assertThat(created).isEqualTo(name + " " + handle.subnet());
      Path record = TestImages.home().resolve("networks").resolve(name + ".json");
      Path socketDir = Path.of(new com.fasterxml.jackson.databind.ObjectMapper().readTree(record.toFile())
          .path("switchDirectory").asText());
      assertThat(socketDir).isDirectory();

      child.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

      eventually(Duration.ofSeconds(30), "the handle closes when the owner dies", handle::isClosed);
      assertThatThrownBy(() -> MicroPod.builder().image(TestImages.busybox()).network(handle).command("true").start())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("network " + name + " is gone: process " + owner);
      assertThat(record).exists(); // what SIGKILL left, until someone looks
      assertThatThrownBy(() -> runtime.network(name))
          .isInstanceOf(NetworkException.class)
          .hasMessageContaining("network '" + name + "' is gone: process " + owner
              + " that created it exited without closing it");
      assertThat(record).doesNotExist();
      assertThat(socketDir).doesNotExist();
      assertThat(runtime.networks()).noneMatch(i -> i.name().equals(name));
      assertThatThrownBy(() -> runtime.network(name))
          .isInstanceOf(NetworkException.class).hasMessageContaining("no network named '" + name + "'");
      assertThat(Files.exists(record)).isFalse();
    }
  }
}
