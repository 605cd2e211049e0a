package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link IdentityHelper}'s protocol and fallback, against a stand-in for {@code micropod-tty} that
 * records what it was asked (the real one needs root: RNDADDENTROPY, clock_settime, setns; it is
 * exercised by the SDK's SnapshotIT).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class IdentityHelperTest {
  @TempDir Path dir;
  private Path record;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void standIn() {
    record = dir.resolve("record");
  }

  @AfterEach
  void restore() {
    System.clearProperty("micropod.ttyHelper");
    timer.shutdownNow();
  }

  /** A stand-in whose server answers {@code serves} requests (pings included) and then exits. */
  private void helper(int serves) throws IOException {
    Path script = dir.resolve("micropod-tty");
    Files.writeString(script, "#!/bin/bash\n"
        + "if [ \"$1\" = --restored-server ]; then\n"
        + "  for ((i = 0; i < " + serves + "; i++)); do\n"
        + "    read -r secs nanos pid host n || exit 0\n"
        + "    bytes=$(dd bs=1 count=$n status=none | wc -c)\n"
        + "    echo \"server $secs $nanos $pid $host $n $bytes\" >> " + record + "\n"
        + "    echo ok\n"
        + "  done\n"
        + "  exit 0\n"
        + "fi\n"
        + "echo \"once ${*:2} $(wc -c)\" >> " + record + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    System.setProperty("micropod.ttyHelper", script.toString());
  }

  @Test
  void aRestoreIsServedByTheServerStartedBeforeTheSnapshotWithoutASpawn() throws IOException {
    helper(100);
    IdentityHelper h = new IdentityHelper(timer);
    h.prepare();
    h.apply(5_000_000_007L, 42, "pod-a", new byte[64]);
    h.apply(6_000_000_000L, 0, "", new byte[32]);
    assertThat(Files.readAllLines(record)).containsExactly(
        "server 0 0 0 - 0 0", "server 5 7 42 pod-a 64 64", "server 6 0 0 - 32 32");
  }

  @Test
  void withoutPreparationARestoreSpawnsTheOneShotHelper() throws IOException {
    helper(100);
    new IdentityHelper(timer).apply(5_000_000_007L, 42, "pod-a", new byte[64]);
    assertThat(Files.readAllLines(record)).containsExactly("once 5 7 42 pod-a 64");
  }

  @Test
  void aServerThatIsGoneIsReplacedByTheOneShotHelper() throws IOException {
    helper(1); // answers the ping, then exits
    IdentityHelper h = new IdentityHelper(timer);
    h.prepare();
    h.apply(5_000_000_007L, 0, "", new byte[32]);
    assertThat(Files.readAllLines(record)).isEqualTo(List.of("server 0 0 0 - 0 0", "once 5 7 32"));
  }

  /**
   * A warm start's template was snapshotted before any container existed: its restore reseeds and
   * sets the clock, with no container to rename and no hostname to set; a named container that
   * does not exist is still refused.
   */
  @Test
  void aRestoreWithoutAContainerAppliesEntropyAndClockOnly() throws IOException {
    helper(100);
    ContainerManager containers = new ContainerManager(dir.resolve("c"), null, null, timer, Runnable::run, 1024, 1024);
    containers.prepareSnapshot();

    containers.restored("", "newpod", "ignored", new byte[64], 7_000_000_003L);

    assertThat(Files.readAllLines(record)).containsExactly("server 0 0 0 - 0 0", "server 7 3 0 - 64 64");
    assertThat(containers.ids()).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> containers.restored("gone", "newpod", "", new byte[64], 1))
        .isInstanceOf(ContainerException.class);
  }
}
