package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The freezer's bookkeeping on a directory standing in for cgroup v2 files; CopyInRaceIT is the real one. */
@Timeout(30)
class FreezerTest {
  @TempDir Path cgroup;

  @Test
  void freezeWaitsUntilFrozenAndOnlyTheLastHoldThaws() throws IOException {
    Files.writeString(cgroup.resolve("cgroup.events"), "populated 1\nfrozen 1\n");
    Freezer freezer = new Freezer(cgroup, Duration.ofSeconds(5));

    Freezer.Hold first = freezer.freeze();
    Freezer.Hold second = freezer.freeze();
    assertThat(Files.readString(cgroup.resolve("cgroup.freeze"))).isEqualTo("1");
    first.close();
    first.close();
    assertThat(Files.readString(cgroup.resolve("cgroup.freeze"))).as("a hold is still open").isEqualTo("1");
    assertThat(freezer.isFrozen()).isTrue();
    second.close();
    assertThat(Files.readString(cgroup.resolve("cgroup.freeze"))).isEqualTo("0");
    assertThat(freezer.isFrozen()).isFalse();
  }

  @Test
  void aFreezeThatDoesNotCompleteInTimeFailsAndLeavesNothingFrozen() throws IOException {
    Files.writeString(cgroup.resolve("cgroup.events"), "populated 1\nfrozen 0\n");
    Freezer freezer = new Freezer(cgroup, Duration.ofMillis(200));

    assertThatThrownBy(freezer::freeze).isInstanceOf(IOException.class)
        .hasMessageContaining("did not freeze within 200 ms");
    assertThat(Files.readString(cgroup.resolve("cgroup.freeze"))).isEqualTo("0");
    assertThat(freezer.isFrozen()).isFalse();
  }

  @Test
  void withoutACgroupV2FreezerTheCopyIsRefused() throws IOException {
    Path missing = cgroup.resolve("micropod");
    Freezer freezer = new Freezer(missing, Duration.ofSeconds(1));

    assertThatThrownBy(freezer::freeze).isInstanceOf(IOException.class)
        .hasMessageContaining("no cgroup v2 freezer");
    assertThat(Files.readString(missing.resolve("cgroup.freeze"))).isEqualTo("0");
  }
}
