package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link FirecrackerApi} against {@link FirecrackerContractPeer}, a STAND-IN for a real
 * Firecracker (none can run here: no KVM) that checks each request against the documented API.
 */
class FirecrackerApiAgainstStandInTest {
  private Path dir;
  private FirecrackerContractPeer peer;
  private FirecrackerApi api;

  @BeforeEach
  void setUp() throws IOException {
    dir = Files.createTempDirectory(Path.of("/tmp"), "mp-fcapi-");
    peer = FirecrackerContractPeer.start(dir.resolve("api.sock"));
    api = new FirecrackerApi(peer.socket());
  }

  @AfterEach
  void tearDown() throws IOException {
    api.close();
    peer.close();
    Files.deleteIfExists(dir);
  }

  private void configure() throws FirecrackerApiException {
    api.putLogger(Path.of("/tmp/fc.log"), "Info");
    api.putMetrics(Path.of("/tmp/fc-metrics.json"));
    api.putBootSource(Path.of("/guest/vmlinux"), "console=ttyS0 micropod.channel=vsock", Path.of("/guest/initramfs.cpio"));
    api.putMachineConfig(2, 512, false);
    api.putDrive("rootfs", Path.of("/store/abc.ext4"), false, true);
    api.putVsock(3, Path.of("/tmp/pod/vsock.sock"));
    api.putNetworkInterface("eth0", "tap0", "06:00:00:00:00:01");
  }

  @Test
  void aFullBootAndSnapshotCycleKeepsTheDocumentedContractAndOrder() throws Exception {
    configure();
    api.action("InstanceStart");
    JsonNode info = api.instanceInfo();
    api.pause();
    api.createSnapshot(Path.of("/tmp/snap"), Path.of("/tmp/mem"), "Full");
    api.resume();
    api.action("FlushMetrics");
    api.action("SendCtrlAltDel");

    assertThat(peer.violations()).isEmpty();
    assertThat(peer.acceptedCalls()).containsExactly(
        "PUT /logger", "PUT /metrics", "PUT /boot-source", "PUT /machine-config", "PUT /drives/rootfs",
        "PUT /vsock", "PUT /network-interfaces/eth0", "PUT /actions", "GET /", "PATCH /vm",
        "PUT /snapshot/create", "PATCH /vm", "PUT /actions", "PUT /actions");
    assertThat(info.get("state").asText()).isEqualTo("Running");
    JsonNode drive = peer.exchanges().get(4).body();
    assertThat(drive.get("drive_id").asText()).isEqualTo("rootfs");
    assertThat(drive.get("is_read_only").asBoolean()).isTrue();
    assertThat(drive.get("is_root_device").asBoolean()).isFalse();
    assertThat(peer.vsock().get("guest_cid").asInt()).isEqualTo(3);
    assertThat(peer.vsock().get("uds_path").asText()).isEqualTo("/tmp/pod/vsock.sock");
  }

  @Test
  void aFaultMessageReachesTheException() throws Exception {
    api.putBootSource(Path.of("/guest/vmlinux"), "x", null);
    peer.failNext("PUT /machine-config", "Invalid memory size");

    assertThatThrownBy(() -> api.putMachineConfig(1, 256, false))
        .isInstanceOfSatisfying(FirecrackerApiException.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.faultMessage()).isEqualTo("injected: Invalid memory size");
          assertThat(e.getMessage()).isEqualTo(
              "Firecracker API PUT /machine-config answered 400: injected: Invalid memory size");
        });
  }

  @Test
  void theStandInRejectsWhatFirecrackerRejects() throws Exception {
    // The peer must be able to fail: an odd vCPU count, configuration after start, start without
    // a kernel, pausing before start: each is a 400 with Firecracker's fault_message.
    assertThatThrownBy(() -> api.action("InstanceStart"))
        .hasMessageContaining("Cannot start microvm without kernel configuration.");
    assertThatThrownBy(() -> api.putMachineConfig(3, 256, false))
        .hasMessageContaining("The vCPU number is invalid!");
    assertThatThrownBy(api::pause).hasMessageContaining("not supported before starting");
    configure();
    api.action("InstanceStart");
    assertThatThrownBy(() -> api.putVsock(3, Path.of("/x")))
        .hasMessageContaining("not supported after starting the microVM");
    assertThatThrownBy(() -> api.createSnapshot(Path.of("/s"), Path.of("/m"), "Full"))
        .hasMessageContaining("pause it first");
    assertThat(peer.violations()).hasSize(5);
  }

  @Test
  void theStandInRejectsUnknownFieldsAndWrongTypes() throws Exception {
    assertThatThrownBy(() -> api.call("PUT", "/vsock", FirecrackerApi.object().put("guest_cid", 3)
        .put("uds_path", "/x").put("vsock_id", 1), FirecrackerApi.CALL_TIMEOUT))
        .hasMessageContaining("unknown field `vsock_id`");
    assertThatThrownBy(() -> api.call("PUT", "/machine-config", FirecrackerApi.object().put("vcpu_count", "2")
        .put("mem_size_mib", 128), FirecrackerApi.CALL_TIMEOUT))
        .hasMessageContaining("field `vcpu_count` must be INT");
    assertThatThrownBy(() -> api.call("PUT", "/drives/a", FirecrackerApi.object().put("drive_id", "a"),
        FirecrackerApi.CALL_TIMEOUT))
        .hasMessageContaining("missing field `is_root_device`");
  }

  @Test
  void snapshotLoadSendsTheMemoryBackendAndTheVsockOverride() throws Exception {
    api.loadSnapshot(Path.of("/snap/vm.snap"), Path.of("/snap/vm.mem"), true, Path.of("/tmp/pod2/vsock.sock"));

    assertThat(peer.violations()).isEmpty();
    JsonNode body = peer.exchanges().get(0).body();
    assertThat(body.get("snapshot_path").asText()).isEqualTo("/snap/vm.snap");
    assertThat(body.get("mem_backend").get("backend_type").asText()).isEqualTo("File");
    assertThat(body.get("mem_backend").get("backend_path").asText()).isEqualTo("/snap/vm.mem");
    assertThat(body.get("resume_vm").asBoolean()).isTrue();
    assertThat(body.get("vsock_override").get("uds_path").asText()).isEqualTo("/tmp/pod2/vsock.sock");
    assertThat(peer.state()).isEqualTo("Running");
  }

  @Test
  void snapshotLoadIsRefusedAfterConfiguration() throws Exception {
    api.putBootSource(Path.of("/guest/vmlinux"), "x", null);

    assertThatThrownBy(() -> api.loadSnapshot(Path.of("/s"), Path.of("/m"), true, null))
        .hasMessageContaining("not allowed after configuring");
  }

  @Test
  void actionsAreNeverRetriedAutomatically() throws Exception {
    configure();
    peer.dropNext("PUT /actions");

    assertThatThrownBy(() -> api.action("InstanceStart"))
        .isInstanceOfSatisfying(FirecrackerApiException.class, e -> assertThat(e.status()).isZero());
    assertThat(peer.exchanges().stream().filter(e -> e.call().equals("PUT /actions")).count()).isEqualTo(1);
  }

  @Test
  void versionReadsTheReleaseAndTheLoadFieldsOfLaterReleasesAreRefusedByOlderOnes() throws Exception {
    peer.playVersion("1.15.0");

    assertThat(api.version()).isEqualTo(new FirecrackerVersion(1, 15, 0));
    assertThatThrownBy(() -> api.loadSnapshot(Path.of("/s"), Path.of("/m"), true, Path.of("/tmp/v.sock")))
        .hasMessageContaining("unknown field `vsock_override`");
    api.loadSnapshot(Path.of("/s"), Path.of("/m"), true, null, java.util.Map.of("eth0", "tap1"));
    assertThat(peer.exchanges().get(peer.exchanges().size() - 1).body().get("network_overrides").toString())
        .isEqualTo("[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap1\"}]");
  }

  @Test
  void loggerAndMetricsAreTakenBeforeALoadAndRefusedAfterIt() throws Exception {
    api.putLogger(Path.of("/tmp/fc.log"), "Info");
    api.putMetrics(Path.of("/tmp/fc-metrics.json"));
    api.loadSnapshot(Path.of("/s"), Path.of("/m"), true, Path.of("/tmp/v.sock"));

    assertThat(peer.loggerAndMetricsBeforeLoad()).isTrue();
    assertThatThrownBy(() -> api.putLogger(Path.of("/tmp/fc.log"), "Info"))
        .hasMessageContaining("not supported after starting");
  }

  @Test
  void versionsParseFromEitherSourceAndCompareByNumber() {
    assertThat(FirecrackerVersion.parse("Firecracker v1.16.0\n")).isEqualTo(new FirecrackerVersion(1, 16, 0));
    assertThat(FirecrackerVersion.parse("1.9.12").atLeast(FirecrackerVersion.NETWORK_OVERRIDES)).isFalse();
    assertThat(FirecrackerVersion.parse("1.16.1").atLeast(FirecrackerVersion.VSOCK_OVERRIDE)).isTrue();
    assertThatThrownBy(() -> FirecrackerVersion.parse("stand-in")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stand-in");
  }
}
