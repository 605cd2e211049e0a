package io.micropod.internal.vm;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Chooses the VMM driver of a runtime, once, and says why in one line.
 *
 * <ul>
 *   <li>{@code firecracker} when {@code /dev/kvm} exists and is readable and writable, the CPU
 *       reports hardware virtualisation ({@code vmx}/{@code svm}), and a {@code firecracker}
 *       binary is found ({@code MICROPOD_FIRECRACKER_BIN}, else {@code PATH});
 *   <li>else {@code qemu}.
 * </ul>
 *
 * {@code MicroPodRuntime.Builder.vmm("qemu"|"firecracker")}, else {@code MICROPOD_VMM}, forces
 * one; a forced {@code firecracker} that cannot run fails with a {@link HostUnsupportedException}
 * naming each reason (no {@code /dev/kvm}, not readable and writable, no binary). The rootfs
 * mode: Firecracker always uses a block image; QEMU uses virtio-fs unless
 * {@code MICROPOD_ROOTFS=blk}.
 */
public final class VmmSelection {
  public static final String AUTO = "auto";
  public static final String QEMU = "qemu";
  public static final String FIRECRACKER = "firecracker";
  public static final String FIRECRACKER_BINARY_NAME = "firecracker";
  private static final Pattern VIRT_FLAGS = Pattern.compile("(?m)^flags\\s*:.*\\b(vmx|svm)\\b");

  /**
   * @param firecrackerBinary the binary when {@code vmm} is firecracker, else null
   * @param reason one line: what was chosen and why
   */
  public record Choice(String vmm, Path firecrackerBinary, RootfsMode rootfsMode, String reason) {}

  private VmmSelection() {}

  /** Selects on the real host ({@code /dev/kvm}, {@code /proc/cpuinfo}). */
  public static Choice select(RuntimeConfig config) {
    return select(config, Path.of("/dev/kvm"), Path.of("/proc/cpuinfo"));
  }

  /**
   * Selects.
   *
   * @throws HostUnsupportedException when a forced driver cannot run here, or MICROPOD_VMM /
   *     MICROPOD_ROOTFS hold an unknown value
   */
  public static Choice select(RuntimeConfig config, Path kvmDevice, Path cpuinfo) {
    String forced = null;
    String forcedBy = null;
    if (!AUTO.equals(config.vmm())) {
      forced = config.vmm();
      forcedBy = "MicroPodRuntime.Builder.vmm(\"" + forced + "\")";
    } else {
      String env = config.getenv("MICROPOD_VMM");
      if (env != null && !env.isBlank() && !env.trim().equalsIgnoreCase(AUTO)) {
        forced = env.trim().toLowerCase(Locale.ROOT);
        forcedBy = "MICROPOD_VMM=" + env.trim();
        if (!forced.equals(QEMU) && !forced.equals(FIRECRACKER)) {
          throw new HostUnsupportedException(List.of(forcedBy + " names no VMM driver: use qemu, firecracker "
              + "or auto (or unset it)"));
        }
      }
    }
    RootfsMode qemuRootfs = RootfsMode.VIRTIOFS;
    String rootfsEnv = config.getenv("MICROPOD_ROOTFS");
    if (rootfsEnv != null && !rootfsEnv.isBlank()) {
      qemuRootfs = RootfsMode.parse(rootfsEnv);
      if (qemuRootfs == null) {
        throw new HostUnsupportedException(List.of("MICROPOD_ROOTFS=" + rootfsEnv
            + " names no rootfs mode: use virtiofs or blk (or unset it)"));
      }
    }
    List<String> problems = new ArrayList<>();
    Path binary = firecrackerBinary(config, problems);
    kvmProblems(kvmDevice, problems);
    if (FIRECRACKER.equals(forced)) {
      if (!problems.isEmpty()) {
        List<String> lines = new ArrayList<>();
        for (String p : problems) {
          lines.add(p + " (the firecracker driver was forced by " + forcedBy + ")");
        }
        throw new HostUnsupportedException(lines);
      }
      return new Choice(FIRECRACKER, binary, RootfsMode.BLOCK,
          "VMM firecracker (" + binary + "), forced by " + forcedBy + "; rootfs as a read-only block image");
    }
    String rootfsNote = qemuRootfs == RootfsMode.BLOCK ? "; rootfs as a read-only block image (MICROPOD_ROOTFS="
        + rootfsEnv.trim() + ")" : "";
    if (QEMU.equals(forced)) {
      return new Choice(QEMU, null, qemuRootfs, "VMM qemu, forced by " + forcedBy + rootfsNote);
    }
    if (problems.isEmpty() && !hasVirtFlags(cpuinfo)) {
      problems.add(kvmDevice + " opens but the CPU reports no hardware virtualisation (no vmx/svm flag in "
          + cpuinfo + "; set MICROPOD_VMM=firecracker to try anyway)");
    }
    if (problems.isEmpty()) {
      return new Choice(FIRECRACKER, binary, RootfsMode.BLOCK, "VMM firecracker (" + binary + "): "
          + kvmDevice + " is usable and the binary was found; rootfs as a read-only block image");
    }
    return new Choice(QEMU, null, qemuRootfs, "VMM qemu; firecracker not used: " + String.join("; ", problems)
        + rootfsNote);
  }

  /**
   * Whether Firecracker could boot here, by the rules {@link #select} applies: the binary, a
   * readable and writable {@code /dev/kvm}, and a CPU with vmx/svm ({@code micropod doctor}).
   *
   * @return one line per reason it cannot; empty when it can
   */
  public static List<String> firecrackerProblems(RuntimeConfig config, Path kvmDevice, Path cpuinfo) {
    List<String> problems = new ArrayList<>();
    firecrackerBinary(config, problems);
    int before = problems.size();
    kvmProblems(kvmDevice, problems);
    // unlike select(), every reason at once: the doctor lists what to fix
    if (problems.size() == before && !hasVirtFlags(cpuinfo)) {
      problems.add(kvmDevice + " opens but the CPU reports no hardware virtualisation (no vmx/svm flag in "
          + cpuinfo + ")");
    }
    return problems;
  }

  /** The firecracker binary {@link #select} would use, or null. */
  public static Path firecrackerBinary(RuntimeConfig config) {
    return firecrackerBinary(config, new ArrayList<>());
  }

  private static Path firecrackerBinary(RuntimeConfig config, List<String> problems) {
    String env = config.getenv("MICROPOD_FIRECRACKER_BIN");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env.trim()).toAbsolutePath();
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
      problems.add("no executable firecracker binary at " + p + " (set by MICROPOD_FIRECRACKER_BIN)");
      return null;
    }
    String path = config.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (!dir.isEmpty()) {
          Path p = Path.of(dir, FIRECRACKER_BINARY_NAME);
          if (Files.isRegularFile(p) && Files.isExecutable(p)) {
            return p;
          }
        }
      }
    }
    problems.add("no firecracker binary on PATH (" + path + ") and MICROPOD_FIRECRACKER_BIN is not set: download "
        + "a release from https://github.com/firecracker-microvm/firecracker/releases and set "
        + "MICROPOD_FIRECRACKER_BIN to it");
    return null;
  }

  private static void kvmProblems(Path kvm, List<String> problems) {
    if (!Files.exists(kvm)) {
      problems.add("no " + kvm + " (KVM is needed by Firecracker: enable virtualisation in the BIOS or the "
          + "hypervisor, and load kvm_intel or kvm_amd)");
    } else if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
      problems.add(kvm + " is not readable and writable by this user (add the user to the kvm group, or "
          + "setfacl -m u:$USER:rw " + kvm + ")");
    }
  }

  private static boolean hasVirtFlags(Path cpuinfo) {
    try {
      String s = Files.readString(cpuinfo, StandardCharsets.ISO_8859_1);
      return s.isEmpty() || VIRT_FLAGS.matcher(s).find();
    } catch (IOException e) {
      return true;
    }
  }
}
