package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HostUnsupportedException;
import io.micropod.Mount;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A guest image without micropod-fsguard: read-write mounts fail closed before any virtiofsd runs. */
class QemuDriverFsguardTest {
  @TempDir Path tmp;

  @Test
  @Timeout(30)
  void aReadWriteMountWithoutTheFsguardHelperIsRefusedWithAClearMessage() throws Exception {
    Path marker = tmp.resolve("virtiofsd-ran");
    Path fake = tmp.resolve("fake-virtiofsd");
    Files.writeString(fake, "#!/bin/sh\ntouch " + marker + "\nexit 1\n");
    fake.toFile().setExecutable(true);
    HostCapabilities host = new HostCapabilities(Path.of("/usr/bin/qemu-system-x86_64"), fake, List.of(),
        Path.of("/g/vmlinux"), Path.of("/g/initramfs.cpio"), Accel.TCG, "test", Machine.MICROVM, 0, true, "", null, null);
    VmConfig config = new VmConfig("pod1", 512, 1, host, tmp, tmp, false);
    Path dir = Files.createDirectories(tmp.resolve("rw"));

    assertThatThrownBy(() -> new QemuDriver().shareMount(config, Mount.readWrite(dir, "/out"),
            new VmConfig.MountDevice("m1", tmp.resolve("m1.sock")), tmp.resolve("m1.log"), Instant.now().plusSeconds(20)))
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("micropod-fsguard")
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("reinstall the guest image");
    assertThat(marker).as("no virtiofsd was started").doesNotExist();
  }
}
