package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OciSpecTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static JsonNode configOf(ProcessConfig p) throws Exception {
    byte[] bytes = OciSpec.toBytes(
        OciSpec.config("web-1", p, Path.of("/run/micropod/containers/web-1/rootfs"), "web",
            1048576));
    return MAPPER.readTree(bytes);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Test
  void topLevelFieldsAreThoseOfTheRuntimeSpec() throws Exception {
    JsonNode c = configOf(ProcessConfig.of(List.of("sh"), List.of(), "", "", false));
    List<String> names = new ArrayList<>();
    c.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactly("ociVersion", "process", "root", "hostname", "mounts", "linux");
    assertThat(c.get("ociVersion").asText()).isEqualTo("1.0.2");
    assertThat(c.get("hostname").asText()).isEqualTo("web");
    assertThat(c.at("/root/path").asText()).isEqualTo("/run/micropod/containers/web-1/rootfs");
    assertThat(c.at("/root/readonly").isBoolean()).isTrue();
    assertThat(c.at("/root/readonly").asBoolean()).isFalse();
  }

  @Test
  void processCarriesTheRequestAndRuncDefaults() throws Exception {
    ProcessConfig p =
        ProcessConfig.of(List.of("sh", "-c", "echo hi"), List.of("PATH=/bin", "A=b"), "/srv",
            "1000:100", false);
    JsonNode process = configOf(p).get("process");
    List<String> names = new ArrayList<>();
    process.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactly("terminal", "user", "args", "env", "cwd", "capabilities",
        "rlimits", "noNewPrivileges");
    assertThat(process.get("terminal").asBoolean()).isFalse();
    assertThat(process.at("/user/uid").asInt()).isEqualTo(1000);
    assertThat(process.at("/user/gid").asInt()).isEqualTo(100);
    assertThat(texts(process.get("args"))).containsExactly("sh", "-c", "echo hi");
    assertThat(texts(process.get("env"))).containsExactly("PATH=/bin", "A=b");
    assertThat(process.get("cwd").asText()).isEqualTo("/srv");
    assertThat(process.get("noNewPrivileges").asBoolean())
        .as("as Docker: setuid binaries of the image work; seccomp and capabilities hold them")
        .isFalse();
    JsonNode nofile = process.get("rlimits").get(0);
    assertThat(nofile.get("type").asText()).isEqualTo("RLIMIT_NOFILE");
    assertThat(nofile.get("hard").asLong()).isEqualTo(1048576);
    assertThat(nofile.get("soft").asLong()).isEqualTo(1048576);
  }

  @Test
  void capabilitiesAreDockersDefaultSetWithoutAmbient() throws Exception {
    JsonNode caps =
        configOf(ProcessConfig.of(List.of("sh"), List.of(), "", "", false)).at("/process/capabilities");
    List<String> sets = new ArrayList<>();
    caps.fieldNames().forEachRemaining(sets::add);
    assertThat(sets).containsExactly("bounding", "effective", "permitted");
    assertThat(texts(caps.get("bounding")))
        .hasSize(14)
        .contains("CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_AUDIT_WRITE", "CAP_SETUID")
        .doesNotContain("CAP_SYS_ADMIN", "CAP_NET_ADMIN");
    assertThat(texts(caps.get("effective"))).isEqualTo(texts(caps.get("bounding")));
  }

  @Test
  void mountsAreRuncSpecDefaults() throws Exception {
    JsonNode mounts =
        configOf(ProcessConfig.of(List.of("sh"), List.of(), "", "", false)).get("mounts");
    List<String> destinations = new ArrayList<>();
    mounts.forEach(m -> destinations.add(m.get("destination").asText()));
    assertThat(destinations).containsExactly(
        "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup");
    JsonNode sys = mounts.get(5);
    assertThat(sys.get("type").asText()).isEqualTo("sysfs");
    assertThat(sys.get("source").asText()).isEqualTo("sysfs");
    assertThat(texts(sys.get("options"))).contains("ro");
    JsonNode cgroup = mounts.get(6);
    assertThat(cgroup.get("type").asText()).isEqualTo("cgroup");
    assertThat(texts(cgroup.get("options"))).contains("ro");
    assertThat(mounts.get(1).get("type").asText()).isEqualTo("tmpfs");
  }

  @Test
  void linuxSectionHasNoNetworkNamespaceAndACgroupsPathPerContainer() throws Exception {
    JsonNode linux = configOf(ProcessConfig.of(List.of("sh"), List.of(), "", "", false)).get("linux");
    List<String> types = new ArrayList<>();
    linux.get("namespaces").forEach(n -> types.add(n.get("type").asText()));
    assertThat(types).containsExactly("pid", "ipc", "uts", "mount", "cgroup");
    assertThat(linux.get("cgroupsPath").asText()).isEqualTo("/micropod/web-1");
    assertThat(texts(linux.get("maskedPaths"))).contains("/proc/kcore", "/sys/firmware");
    assertThat(texts(linux.get("readonlyPaths"))).contains("/proc/sys", "/proc/sysrq-trigger");
    JsonNode deny = linux.at("/resources/devices/0");
    assertThat(deny.get("allow").asBoolean()).isFalse();
    assertThat(deny.get("access").asText()).isEqualTo("rwm");
  }

  @Test
  void execProcessFileIsTheSameProcessObject() throws Exception {
    ProcessConfig p = ProcessConfig.of(List.of("echo", "hi"), List.of("A=b"), "/", "", false);
    JsonNode exec = MAPPER.readTree(OciSpec.toBytes(OciSpec.process(p, 1048576)));
    JsonNode inConfig = configOf(p).get("process");
    assertThat(exec).isEqualTo(inConfig);
  }

  @Test
  void everyContainerGetsTheDefaultSeccompProfileAnAllowListThatAnswersEperm() throws Exception {
    JsonNode seccomp = configOf(ProcessConfig.of(List.of("sh"), List.of(), "", "", false))
        .at("/linux/seccomp");

    assertThat(seccomp.get("defaultAction").asText()).isEqualTo("SCMP_ACT_ERRNO");
    assertThat(seccomp.get("defaultErrnoRet").asInt()).as("EPERM").isEqualTo(1);
    assertThat(texts(seccomp.get("architectures")))
        .containsExactly("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
    List<String> unconditional = new ArrayList<>();
    List<String> conditional = new ArrayList<>();
    for (JsonNode rule : seccomp.get("syscalls")) {
      boolean allows = rule.get("action").asText().equals("SCMP_ACT_ALLOW");
      (allows && !rule.has("args") ? unconditional : conditional).addAll(texts(rule.get("names")));
    }
    assertThat(unconditional).contains("read", "write", "openat", "execve", "fork", "setuid",
        "setresuid", "capset", "chroot", "ptrace", "io_uring_setup").doesNotHaveDuplicates();
    assertThat(unconditional).as("refused: not listed at all").doesNotContain("keyctl",
        "add_key", "request_key", "unshare", "setns", "mount", "umount2", "pivot_root", "bpf",
        "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "open_by_handle_at", "userfaultfd", "reboot", "swapon", "syslog", "clone", "clone3",
        "socket", "personality", "fsopen", "move_mount", "open_tree", "settimeofday");
    assertThat(conditional).containsExactlyInAnyOrder("clone", "clone3", "socket",
        "personality", "personality", "personality", "personality", "personality");
  }

  @Test
  void cloneIsAllowedOnlyWithoutNamespaceFlagsAndClone3FallsBackToClone() throws Exception {
    JsonNode syscalls = configOf(ProcessConfig.of(List.of("sh"), List.of(), "", "", false))
        .at("/linux/seccomp/syscalls");
    JsonNode clone = null;
    JsonNode clone3 = null;
    JsonNode socket = null;
    List<Long> personalities = new ArrayList<>();
    for (JsonNode rule : syscalls) {
      String name = rule.get("names").get(0).asText();
      switch (name) {
        case "clone" -> clone = rule;
        case "clone3" -> clone3 = rule;
        case "socket" -> socket = rule;
        case "personality" -> personalities.add(rule.at("/args/0/value").asLong());
        default -> { }
      }
    }
    assertThat(clone.at("/args/0/op").asText()).isEqualTo("SCMP_CMP_MASKED_EQ");
    assertThat(clone.at("/args/0/value").asLong()).as("CLONE_NEW* flags").isEqualTo(0x7E020000L);
    assertThat(clone.at("/args/0/valueTwo").asLong()).isZero();
    assertThat(clone3.get("action").asText()).isEqualTo("SCMP_ACT_ERRNO");
    assertThat(clone3.get("errnoRet").asInt()).as("ENOSYS").isEqualTo(38);
    assertThat(socket.at("/args/0/op").asText()).isEqualTo("SCMP_CMP_NE");
    assertThat(socket.at("/args/0/value").asInt()).as("AF_VSOCK").isEqualTo(40);
    assertThat(personalities).containsExactly(0L, 8L, 0x20000L, 0x20008L, 0xFFFFFFFFL);
  }

  @Test
  void anUnconfinedContainerHasNoSeccompFilterAndExecsInheritTheContainers() throws Exception {
    ProcessConfig p = ProcessConfig.of(List.of("sh"), List.of(), "", "", false);
    JsonNode unconfined = MAPPER.readTree(OciSpec.toBytes(OciSpec.config("web-1", p,
        Path.of("/r"), "web", 1048576, OciSpec.Resources.NONE, false)));

    assertThat(unconfined.get("linux").has("seccomp")).isFalse();
    assertThat(MAPPER.readTree(OciSpec.toBytes(OciSpec.process(p, 1048576))).has("seccomp"))
        .as("the --process file of an exec: the runtime applies the container's filter").isFalse();
  }
}
