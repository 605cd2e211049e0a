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
    assertThat(process.get("noNewPrivileges").asBoolean()).isTrue();
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
}
