package io.micropod.internal.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.HealthState;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleStatesTest {
  @Test
  void theLastStateLineAndTheEndReasonWin() {
    ConsoleStates.Observed o = ConsoleStates.parse("[    1.2] booting\r\n"
        + "micropod-agent INFO state abc state=running health=starting streak=0 restarts=0 exit=-\r\n"
        + "micropod-agent INFO state abc state=restarting health=unhealthy streak=3 restarts=2 exit=1\r\n"
        + "micropod-agent INFO pod ending: max-lifetime (30000 ms)\r\n");
    assertThat(o.state()).isEqualTo("restarting");
    assertThat(o.health().status()).isEqualTo(HealthState.Status.UNHEALTHY);
    assertThat(o.health().failingStreak()).isEqualTo(3);
    assertThat(o.restartCount()).isEqualTo(2);
    assertThat(o.lastExitCode()).hasValue(1);
    assertThat(o.endReason()).isEqualTo("max-lifetime");
  }

  @Test
  void noHealthCheckAndNoExitReadAsAbsent() {
    ConsoleStates.Observed o = ConsoleStates.parse(
        "micropod-agent INFO state abc state=running health=none streak=0 restarts=1 exit=-\n");
    assertThat(o.health()).isNull();
    assertThat(o.lastExitCode()).isEmpty();
    assertThat(o.restartCount()).isEqualTo(1);
  }

  @Test
  void aMainProcessThatExitedForGoodReadsAsExitedWithTheAgentsTime() {
    ConsoleStates.Observed o = ConsoleStates.parse(
        "micropod-agent INFO state abc state=running health=none streak=0 restarts=0 exit=- at=1764979200000\n"
            + "micropod-agent INFO state abc state=stopped health=none streak=0 restarts=0 exit=3 at=1764979260000\n");
    assertThat(o.exited()).isTrue();
    assertThat(o.lastExitCode()).hasValue(3);
    assertThat(o.at()).isEqualTo(java.time.Instant.ofEpochMilli(1764979260000L));
    // waiting to be restarted is not exited; a line without a time (an older agent) still counts
    assertThat(ConsoleStates.parse(
        "micropod-agent INFO state abc state=restarting health=none streak=0 restarts=0 exit=1 at=5\n").exited())
        .isFalse();
    assertThat(ConsoleStates.parse(
        "micropod-agent INFO state abc state=stopped health=none streak=0 restarts=0 exit=0\n").at()).isNull();
  }

  @Test
  void linesThatAreNotExactlyTheAgentsAreIgnored() {
    assertThat(ConsoleStates.parse(
        "x micropod-agent INFO state abc state=running health=healthy streak=0 restarts=0 exit=-\n"
            + "micropod-agent INFO state abc state=running health=healthy streak=99999999999 restarts=0 exit=-\n"
            + "micropod-agent INFO pod ending: because (1 ms)\n"))
        .isEqualTo(ConsoleStates.Observed.NOTHING);
  }

  @Test
  void aMissingConsoleLogSaysNothing(@TempDir Path dir) throws Exception {
    assertThat(ConsoleStates.read(dir.resolve("gone.log"))).isEqualTo(ConsoleStates.Observed.NOTHING);
    Path log = dir.resolve("c.log");
    Files.writeString(log, "x".repeat(200_000)
        + "\nmicropod-agent INFO state abc state=stopped health=none streak=0 restarts=0 exit=7\n");
    assertThat(ConsoleStates.read(log).lastExitCode()).hasValue(7);
  }
}
