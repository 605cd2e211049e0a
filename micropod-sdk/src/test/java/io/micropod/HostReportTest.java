package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class HostReportTest {

  @Test
  void podsCanStartUnlessACheckIsMissingAndProblemsListMissingFirst() {
    HostCheck ok = HostCheck.ok("qemu", "/usr/bin/qemu-system-x86_64, version 7.2.22");
    HostCheck tcg = HostCheck.warn("accelerator", "TCG (no /dev/kvm)", "modprobe kvm_intel");
    HostCheck noImage = HostCheck.missing("guest image", "no guest image", "add io.micropod:micropod-guest");
    List<HostCheck> checks = new ArrayList<>(List.of(ok, tcg));

    HostReport degraded = HostReport.of(checks);
    checks.add(noImage); // the report is a copy

    assertThat(degraded.canStartPods()).isTrue();
    assertThat(degraded.problems()).containsExactly(tcg);
    assertThat(degraded.check("qemu")).contains(ok);
    assertThat(degraded.check("nope")).isEmpty();
    HostReport broken = HostReport.of(checks);
    assertThat(broken.canStartPods()).isFalse();
    assertThat(broken.problems()).containsExactly(noImage, tcg);
    assertThat(broken.toString()).contains("MISSING guest image: no guest image (fix: add io.micropod:micropod-guest)");
  }

  @Test
  void aCheckThatIsNotOkCarriesItsFix() {
    assertThat(HostCheck.ok("home", "/h (rwx------)").fix()).isEmpty();
    assertThat(HostCheck.warn("home", "/h is rwxr-xr-x", "chmod 700 /h").fix()).contains("chmod 700 /h");
    assertThatThrownBy(() -> HostCheck.missing("qemu", "not found", " "))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fix");
    assertThatThrownBy(() -> HostCheck.warn("qemu", "slow", null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> HostCheck.ok("", "x")).isInstanceOf(IllegalArgumentException.class);
  }
}
