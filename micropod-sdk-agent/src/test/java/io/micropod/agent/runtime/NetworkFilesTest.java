package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetworkFilesTest {
  @TempDir Path dir;

  private static ObjectNode config() {
    ProcessConfig p = new ProcessRequest(List.of("sh"), List.of(), "/", "", false).validate();
    return OciSpec.config("abc", p, Path.of("/r"), "abc", 1024);
  }

  @Test
  void managedFilesAreWrittenAndBindMountedReadOnly() throws Exception {
    ObjectNode config = new NetworkFiles("127.0.0.1\tlocalhost\n", "nameserver 10.0.2.3\n")
        .apply(config(), dir);

    assertThat(Files.readString(dir.resolve("hosts"))).isEqualTo("127.0.0.1\tlocalhost\n");
    assertThat(Files.readString(dir.resolve("resolv.conf"))).isEqualTo("nameserver 10.0.2.3\n");
    JsonNode mounts = config.get("mounts");
    JsonNode hosts = mounts.get(mounts.size() - 2);
    assertThat(hosts.get("destination").asText()).isEqualTo("/etc/hosts");
    assertThat(hosts.get("type").asText()).isEqualTo("bind");
    assertThat(hosts.get("source").asText()).isEqualTo(dir.resolve("hosts").toString());
    assertThat(hosts.get("options").toString()).isEqualTo("[\"rbind\",\"ro\"]");
    assertThat(mounts.get(mounts.size() - 1).get("destination").asText()).isEqualTo("/etc/resolv.conf");
  }

  @Test
  void nothingManagedLeavesTheConfigAlone() throws Exception {
    int before = config().get("mounts").size();

    ObjectNode config = NetworkFiles.NONE.apply(config(), dir);

    assertThat(config.get("mounts").size()).isEqualTo(before);
    assertThat(dir.resolve("hosts")).doesNotExist();
    assertThat(NetworkFiles.rewriteHosts(dir, "x")).isFalse();
  }

  @Test
  void rewriteKeepsTheInodeSoTheBindMountSeesIt() throws Exception {
    new NetworkFiles("old content that is longer\n", "").apply(config(), dir);
    Object inode = Files.getAttribute(dir.resolve("hosts"), "unix:ino");

    assertThat(NetworkFiles.rewriteHosts(dir, "new\n")).isTrue();

    assertThat(Files.readString(dir.resolve("hosts"))).isEqualTo("new\n");
    assertThat(Files.getAttribute(dir.resolve("hosts"), "unix:ino")).isEqualTo(inode);
  }

  @Test
  void nulIsRefused() {
    assertThatThrownBy(() -> new NetworkFiles("a\0b", "")).isInstanceOf(ContainerException.class);
  }
}
