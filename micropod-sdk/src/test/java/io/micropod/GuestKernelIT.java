package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micropod.internal.base.SdkVersion;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The guest image's {@code vmlinux} (rootfs-builder's {@code vmlinux.py}, extracted from the real
 * Debian {@code vmlinuz}): the uncompressed ELF kernel that Firecracker needs and QEMU boots via
 * PVH. Checks the ELF header, the entry point, the size, and that it is the manifest's kernel.
 */
class GuestKernelIT {
  private static Path guest;
  private static ByteBuffer elf;

  @BeforeAll
  static void read() throws IOException {
    guest = TestImages.home().resolve("guest").resolve(SdkVersion.get());
    elf = ByteBuffer.wrap(Files.readAllBytes(guest.resolve("vmlinux"))).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void vmlinuxIsAnX8664ElfExecutable() {
    assertThat(new byte[] {elf.get(0), elf.get(1), elf.get(2), elf.get(3)}).containsExactly(0x7f, 'E', 'L', 'F');
    assertThat(elf.get(4)).as("EI_CLASS 64-bit").isEqualTo((byte) 2);
    assertThat(elf.get(5)).as("EI_DATA little endian").isEqualTo((byte) 1);
    assertThat(elf.getShort(0x10)).as("e_type ET_EXEC").isEqualTo((short) 2);
    assertThat(elf.getShort(0x12)).as("e_machine EM_X86_64").isEqualTo((short) 0x3e);
  }

  @Test
  void theEntryPointLiesInALoadedSegment() {
    long entry = elf.getLong(0x18);
    long phoff = elf.getLong(0x20);
    int phentsize = Short.toUnsignedInt(elf.getShort(0x36));
    int phnum = Short.toUnsignedInt(elf.getShort(0x38));
    boolean inLoad = false;
    int loads = 0;
    for (int i = 0; i < phnum; i++) {
      int p = (int) (phoff + (long) i * phentsize);
      if (elf.getInt(p) != 1) { // PT_LOAD
        continue;
      }
      loads++;
      long vaddr = elf.getLong(p + 0x10);
      long paddr = elf.getLong(p + 0x18);
      long memsz = elf.getLong(p + 0x28);
      inLoad |= (entry >= vaddr && entry < vaddr + memsz) || (entry >= paddr && entry < paddr + memsz);
    }
    assertThat(loads).isPositive();
    assertThat(inLoad).as("entry 0x%x in a PT_LOAD segment", entry).isTrue();
    // Linux x86-64 starts at startup_64 at its physical load address (16 MiB by default).
    assertThat(entry).isEqualTo(0x1000000L);
  }

  @Test
  void theFileEndsAtTheSectionHeaderTableAndIsLargerThanTheCompressedKernel() throws IOException {
    long shoff = elf.getLong(0x28);
    int shentsize = Short.toUnsignedInt(elf.getShort(0x3a));
    int shnum = Short.toUnsignedInt(elf.getShort(0x3c));
    long size = elf.capacity();

    assertThat(shoff + (long) shentsize * shnum).isEqualTo(size);
    assertThat(size).isGreaterThan(Files.size(guest.resolve("vmlinuz")) * 2).isLessThan(200L << 20);
  }

  @Test
  void itIsTheKernelTheManifestNames() throws IOException {
    JsonNode manifest = new ObjectMapper().readTree(guest.resolve("manifest.json").toFile());
    String release = manifest.get("kernelRelease").asText();

    String banner = "Linux version " + release + " ";
    assertThat(new String(elf.array(), StandardCharsets.ISO_8859_1)).contains(banner);
  }
}
