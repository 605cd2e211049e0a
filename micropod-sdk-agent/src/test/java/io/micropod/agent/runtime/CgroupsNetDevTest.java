package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupsNetDevTest {
  @TempDir Path dir;

  private Cgroups.NetDev parse(String text) throws Exception {
    Path f = dir.resolve("dev");
    Files.writeString(f, text);
    return Cgroups.netDev(f);
  }

  @Test
  void sumsEveryInterfaceButLoopbackFromARealSample() throws Exception {
    // A guest's /proc/net/dev (Linux 6.x); eth1's name is joined to a wide first number.
    String sample = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo:    4096      40    0    0    0     0          0         0     4096      40    0    0    0     0       0          0
          eth0:   12345      67    0    0    0     0          0         0     2345      21    0    0    0     0       0          0
          eth1:1234567890123    9    0    1    0     0          0         0      100       1    0    0    0     0       0          0
        """;

    assertThat(parse(sample)).isEqualTo(new Cgroups.NetDev(12345 + 1234567890123L, 76, 2445, 22));
  }

  @Test
  void malformedLinesAreSkippedAndHugeCountersSaturate() throws Exception {
    String text = """
        garbage without colon
          eth0: 1 2 3
          eth1: x 1 0 0 0 0 0 0 5 6 0 0 0 0 0 0
          eth2: -7 1 0 0 0 0 0 0 5 6 0 0 0 0 0 0
          eth3: 18446744073709551615 1 0 0 0 0 0 0 10 2 0 0 0 0 0 0
          eth4: 5 1 0 0 0 0 0 0 10 2 0 0 0 0 0 0
        :
        """;

    assertThat(parse(text)).isEqualTo(new Cgroups.NetDev(Long.MAX_VALUE, 2, 20, 4));
  }

  @Test
  void aMissingFileReadsAsZero() {
    assertThat(Cgroups.netDev(dir.resolve("absent"))).isEqualTo(new Cgroups.NetDev(0, 0, 0, 0));
  }
}
