package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pod's deadlines on a clock the test moves; {@link Lifetime#check} run by hand. */
class LifetimeTest {
  final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
  final AtomicLong now = new AtomicLong(1_000_000_000L);
  final AtomicInteger connections = new AtomicInteger();
  final List<String> ended = new CopyOnWriteArrayList<>();
  final Lifetime lifetime = new Lifetime(timer, ended::add, connections::get, now::get);

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  void advanceMillis(long ms) {
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
  }

  @Test
  void maxLifetimeEndsThePodOnceWithItsReason() {
    lifetime.arm(1000, 0);
    advanceMillis(999);
    lifetime.check();
    assertThat(ended).isEmpty();
    advanceMillis(1);
    lifetime.check();
    lifetime.check();
    assertThat(ended).containsExactly("max-lifetime");
  }

  @Test
  void maxLifetimeEndsThePodEvenWhileItIsBusy() {
    lifetime.arm(1000, 500);
    lifetime.begin();
    advanceMillis(1000);
    lifetime.check();
    assertThat(ended).containsExactly("max-lifetime");
  }

  @Test
  void idleTimeoutWaitsForCallsInFlightAndCountsFromTheLastOneEnded() {
    lifetime.arm(0, 1000);
    lifetime.begin();
    advanceMillis(5000);
    lifetime.check();
    assertThat(ended).as("an exec or log reader in flight").isEmpty();
    lifetime.end();
    advanceMillis(999);
    lifetime.check();
    assertThat(ended).isEmpty();
    advanceMillis(1);
    lifetime.check();
    assertThat(ended).containsExactly("idle-timeout");
  }

  @Test
  void anEstablishedConnectionInTheGuestIsActivity() {
    lifetime.arm(0, 1000);
    connections.set(1);
    advanceMillis(1500);
    lifetime.check();
    assertThat(ended).isEmpty();
    connections.set(0);
    advanceMillis(999);
    lifetime.check();
    assertThat(ended).as("idle counted from when the connection was last seen").isEmpty();
    advanceMillis(1);
    lifetime.check();
    assertThat(ended).containsExactly("idle-timeout");
  }

  @Test
  void unarmedDeadlinesNeverEndThePod() {
    lifetime.arm(0, 0);
    advanceMillis(TimeUnit.DAYS.toMillis(1));
    lifetime.check();
    assertThat(ended).isEmpty();
  }

  @Test
  void establishedConnectionsCountsStateOneInTcpAndTcp6(@TempDir Path procNet) throws Exception {
    String header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n";
    Files.writeString(procNet.resolve("tcp"), header
        + "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
        + "   1: 0100007F:1F90 0100007F:A2B4 01 00000000:00000000 00:00000000 00000000     0\n");
    assertThat(Lifetime.establishedConnections(procNet)).as("tcp6 missing: counted as none").isEqualTo(1);
    Files.writeString(procNet.resolve("tcp6"), header
        + "   0: 00000000000000000000000001000000:0050 00000000000000000000000001000000:C350 01 0:0 0:0 0 0\n");
    assertThat(Lifetime.establishedConnections(procNet)).isEqualTo(2);
  }
}
