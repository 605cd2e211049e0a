package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPodSpec;
import io.micropod.internal.registry.DebianTestImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code micropod run --memory 256} of a Debian image (issue 14): a slim bookworm userland built
 * offline from Debian's packages ({@link DebianTestImage}), not busybox. One VM boot each.
 */
@Timeout(600)
class CliDebianIT {
  private static final String DEBIAN = "oci:" + DebianTestImage.layout(io.micropod.examples.HelloAccess.home());

  @Test
  void runWithMemory256StartsADebianPodWhoseBashAndDpkgAnswer() throws Exception {
    CliIT.Result r = CliIT.run("run", "--rm", "--memory", "256", DEBIAN, "bash", "-c",
        "cat /etc/debian_version; dpkg-query -W libc6; echo \"$BASH_VERSION\"; grep MemTotal /proc/meminfo");

    assertThat(r.exit).as(r.err).isZero();
    var lines = r.out.lines().toList();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0)).as("Debian's version file (base-files)").matches("12\\.[0-9]+");
    assertThat(lines.get(1)).as("dpkg's database lists libc6 as installed").matches("libc6:amd64\t2\\.36-.*");
    assertThat(lines.get(2)).as("Debian's bash, not busybox").startsWith("5.2");
    long kib = Long.parseLong(lines.get(3).replaceAll("[^0-9]", ""));
    assertThat(kib).isBetween(128L * 1024, 256L * 1024);
  }

  @Test
  void theSmallestGuestTheSpecAllowsRunsTheDebianImage() throws Exception {
    CliIT.Result r = CliIT.run("run", "--rm", "--memory", String.valueOf(MicroPodSpec.MIN_MEMORY_MIB), DEBIAN,
        "sh", "-c", "ls /usr/bin | wc -l; readlink /bin/sh");

    assertThat(r.exit).as(r.err).isZero();
    assertThat(Integer.parseInt(r.out.lines().findFirst().orElseThrow().strip())).isGreaterThan(50);
    assertThat(r.out).endsWith("dash\n");
  }
}
