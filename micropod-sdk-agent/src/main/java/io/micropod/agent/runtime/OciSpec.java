package io.micropod.agent.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds the OCI runtime spec (1.0.2) {@code config.json} of a container, modelled on
 * {@code runc spec} with these differences: Docker's default capability set, RLIMIT_NOFILE
 * 1048576, a writable root, a cgroup namespace and cgroupsPath {@code /micropod/<id>}, Docker's
 * default seccomp profile ({@link Seccomp}) unless the pod asked for none, no
 * {@code noNewPrivileges} (as Docker: setuid binaries work), and no network namespace (containers share the guest's network, which is why the agent's socket is a
 * filesystem socket).
 */
public final class OciSpec {
  public static final String OCI_VERSION = "1.0.2";

  /** Docker's default capabilities (moby's oci/caps/defaults.go). */
  static final List<String> DEFAULT_CAPABILITIES =
      List.of(
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FSETID",
          "CAP_FOWNER",
          "CAP_MKNOD",
          "CAP_NET_RAW",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETFCAP",
          "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE",
          "CAP_SYS_CHROOT",
          "CAP_KILL",
          "CAP_AUDIT_WRITE");

  static final List<String> MASKED_PATHS =
      List.of(
          "/proc/acpi",
          "/proc/asound",
          "/proc/kcore",
          "/proc/keys",
          "/proc/latency_stats",
          "/proc/timer_list",
          "/proc/timer_stats",
          "/proc/sched_debug",
          "/sys/firmware",
          "/proc/scsi");

  static final List<String> READONLY_PATHS =
      List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");

  static final List<String> NAMESPACES = List.of("pid", "ipc", "uts", "mount", "cgroup");

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private OciSpec() {}

  /**
   * The complete config.json tree of container {@code id}.
   *
   * @param nofileLimit RLIMIT_NOFILE, soft and hard (the agent uses 1048576)
   */
  public static ObjectNode config(
      String id, ProcessConfig process, Path rootfs, String hostname, long nofileLimit) {
    return config(id, process, rootfs, hostname, nofileLimit, Resources.NONE);
  }

  /** The config.json tree with {@code linux.resources} limits and the default seccomp profile. */
  public static ObjectNode config(String id, ProcessConfig process, Path rootfs, String hostname,
      long nofileLimit, Resources resources) {
    return config(id, process, rootfs, hostname, nofileLimit, resources, true);
  }

  /**
   * Cgroup limits of a container.
   *
   * @param memoryLimitBytes {@code memory.limit} (and swap the same: no swap), 0 for none
   * @param cpuMillis CPU quota in thousandths of a CPU over a 100 ms period, 0 for none
   */
  public record Resources(long memoryLimitBytes, int cpuMillis) {
    public static final Resources NONE = new Resources(0, 0);
  }

  /**
   * The config.json tree with {@code linux.resources} limits.
   *
   * @param seccomp whether {@code linux.seccomp} holds the default profile ({@link Seccomp});
   *     {@code false}: no filter at all (Docker's {@code seccomp=unconfined})
   */
  public static ObjectNode config(String id, ProcessConfig process, Path rootfs, String hostname,
      long nofileLimit, Resources resources, boolean seccomp) {
    ObjectNode config = NODES.objectNode();
    config.put("ociVersion", OCI_VERSION);
    config.set("process", process(process, nofileLimit));
    ObjectNode root = config.putObject("root");
    root.put("path", rootfs.toString());
    root.put("readonly", false);
    config.put("hostname", hostname);
    config.set("mounts", mounts());
    ObjectNode linux = linux(id);
    ObjectNode res = (ObjectNode) linux.get("resources");
    if (resources.memoryLimitBytes() > 0) {
      ObjectNode memory = res.putObject("memory");
      memory.put("limit", resources.memoryLimitBytes());
      memory.put("swap", resources.memoryLimitBytes());
    }
    if (resources.cpuMillis() > 0) {
      ObjectNode cpu = res.putObject("cpu");
      cpu.put("period", 100_000L);
      cpu.put("quota", resources.cpuMillis() * 100L);
    }
    if (seccomp) {
      linux.set("seccomp", Seccomp.defaultProfile());
    }
    config.set("linux", linux);
    return config;
  }

  /** Sets {@code terminal} and {@code consoleSize} of a {@link #process} object. */
  static void terminal(ObjectNode process, int rows, int columns) {
    process.put("terminal", true);
    ObjectNode size = process.putObject("consoleSize");
    size.put("height", rows);
    size.put("width", columns);
  }

  /** The {@code process} object; also the {@code --process} file of {@code runc exec}. */
  public static ObjectNode process(ProcessConfig process, long nofileLimit) {
    ObjectNode p = NODES.objectNode();
    p.put("terminal", false);
    ObjectNode user = p.putObject("user");
    user.put("uid", process.uid());
    user.put("gid", process.gid());
    strings(p.putArray("args"), process.args());
    strings(p.putArray("env"), process.env());
    p.put("cwd", process.cwd());
    ObjectNode caps = p.putObject("capabilities");
    strings(caps.putArray("bounding"), DEFAULT_CAPABILITIES);
    strings(caps.putArray("effective"), DEFAULT_CAPABILITIES);
    strings(caps.putArray("permitted"), DEFAULT_CAPABILITIES);
    ObjectNode nofile = p.putArray("rlimits").addObject();
    nofile.put("type", "RLIMIT_NOFILE");
    nofile.put("hard", nofileLimit);
    nofile.put("soft", nofileLimit);
    // As Docker: no no_new_privs, so the setuid binaries of an image work (su, ping, sudo);
    // the seccomp profile and the capability bounding set hold what they may do.
    p.put("noNewPrivileges", false);
    return p;
  }

  private static ArrayNode mounts() {
    ArrayNode mounts = NODES.arrayNode();
    mount(mounts, "/proc", "proc", "proc");
    mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
    mount(
        mounts,
        "/dev/pts",
        "devpts",
        "devpts",
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5");
    mount(
        mounts, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
    mount(mounts, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
    mount(mounts, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
    mount(
        mounts, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro");
    return mounts;
  }

  private static void mount(
      ArrayNode mounts, String destination, String type, String source, String... options) {
    ObjectNode m = mounts.addObject();
    m.put("destination", destination);
    m.put("type", type);
    m.put("source", source);
    if (options.length > 0) {
      strings(m.putArray("options"), List.of(options));
    }
  }

  private static ObjectNode linux(String id) {
    ObjectNode linux = NODES.objectNode();
    ObjectNode deny = linux.putObject("resources").putArray("devices").addObject();
    deny.put("allow", false);
    deny.put("access", "rwm");
    linux.put("cgroupsPath", "/micropod/" + id);
    ArrayNode namespaces = linux.putArray("namespaces");
    for (String type : NAMESPACES) {
      namespaces.addObject().put("type", type);
    }
    strings(linux.putArray("maskedPaths"), MASKED_PATHS);
    strings(linux.putArray("readonlyPaths"), READONLY_PATHS);
    return linux;
  }

  private static void strings(ArrayNode array, List<String> values) {
    for (String v : values) {
      array.add(v);
    }
  }

  /** The tree as pretty-printed JSON bytes (UTF-8), as written to disk. */
  public static byte[] toBytes(ObjectNode tree) {
    return Json.toBytes(tree);
  }
}
