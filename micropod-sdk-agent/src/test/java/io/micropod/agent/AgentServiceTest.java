package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micropod.agent.runtime.Mounter;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.CreateContainerResponse;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.RemoveContainerRequest;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.SignalContainerRequest;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.StartContainerResponse;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC surface of the agent over a real Unix socket and a real gRPC client, with a
 * {@link FakeRuntime} script instead of runc and a recording mounter instead of overlay mounts
 * (the real ones are exercised by {@code ContainerIT}).
 */
class AgentServiceTest {
  @TempDir static Path dir;

  static final List<String> mounts = new CopyOnWriteArrayList<>();
  static Path image;
  static AgentConfig config;
  static Agent agent;
  static TestClient client;

  static final Mounter RECORDING_MOUNTER =
      new Mounter() {
        @Override
        public void mountOverlay(Path lower, Path upper, Path work, Path target) {
          mounts.add(lower + " -> " + target);
        }

        @Override
        public void unmount(Path target) {}

        @Override
        public void mountVirtiofs(String tag, Path target, boolean readOnly) {
          mounts.add("virtiofs " + tag + (readOnly ? " ro" : " rw") + " -> " + target);
        }
      };

  @BeforeAll
  static void startAgent() throws Exception {
    image = Files.createDirectories(dir.resolve("image"));
    Files.writeString(dir.resolve("init-started-ms"), "1234\n");
    config =
        AgentConfig.builder()
            .socket(dir.resolve("agent.sock"))
            .containersDir(dir.resolve("containers"))
            .initStartedFile(dir.resolve("init-started-ms"))
            .runtime(FakeRuntime.write(dir))
            .build();
    agent = Agent.start(config, 42, RECORDING_MOUNTER, () -> {});
    client = new TestClient(config.socket());
  }

  @AfterAll
  static void stopAgent() throws Exception {
    client.close();
    agent.close();
  }

  private static CreateContainerRequest.Builder create(String id) {
    return CreateContainerRequest.newBuilder()
        .setContainerId(id)
        .setImageRootfs(image.toString())
        .setProcess(ProcessSpec.newBuilder().addArgs("sh").addEnv("A=b"));
  }

  private static void assertStatus(Status.Code code, ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(code));
  }

  @Test
  void getInfoReportsVersionsAndBootTimings() throws Exception {
    Poll.until("the runtime version", Duration.ofSeconds(10),
        () -> !agent.info().runtimeVersion().isEmpty());
    GetInfoResponse info = client.blocking().getInfo(GetInfoRequest.getDefaultInstance());
    assertThat(info.getAgentVersion()).matches("\\d+\\.\\d+\\.\\d+.*");
    assertThat(info.getRuntimeVersion()).isEqualTo("fake-runc version 9.9");
    assertThat(info.getKernelRelease()).isEqualTo(
        Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim());
    assertThat(info.getBootTimings().getInitStartedMs()).isEqualTo(1234);
    assertThat(info.getBootTimings().getAgentMainMs()).isEqualTo(42);
    assertThat(info.getBootTimings().getAgentReadyMs()).isGreaterThan(0);
    assertThat(info.getBootTimings().getNowMs())
        .isGreaterThanOrEqualTo(info.getBootTimings().getAgentReadyMs());
  }

  @Test
  void createMountsTheOverlayAndWritesTheBundle() throws Exception {
    CreateContainerResponse r = client.blocking().createContainer(create("bundle-1").build());
    Path rootfs = config.containersDir().resolve("bundle-1/rootfs");
    assertThat(r.getBundlePath()).isEqualTo(config.containersDir().resolve("bundle-1/bundle").toString());
    assertThat(mounts).contains(image + " -> " + rootfs);
    JsonNode spec = new ObjectMapper().readTree(Path.of(r.getBundlePath(), "config.json").toFile());
    assertThat(spec.at("/root/path").asText()).isEqualTo(rootfs.toString());
    assertThat(spec.get("hostname").asText()).isEqualTo("bundle-1");
    assertThat(spec.at("/process/rlimits/0/hard").asLong()).isEqualTo(1048576);
    for (String d : new String[] {"upper", "work", "rootfs", "bundle"}) {
      assertThat(config.containersDir().resolve("bundle-1").resolve(d)).isDirectory();
    }
  }

  @Test
  void createMountsTheHostSharesAndBindsThemIntoTheContainer() throws Exception {
    CreateContainerResponse r = client.blocking().createContainer(create("mounts-1")
        .addMounts(io.micropod.agent.v1.HostMount.newBuilder()
            .setTag("micropod-mount-0").setContainerPath("/data").setReadOnly(true))
        .addMounts(io.micropod.agent.v1.HostMount.newBuilder()
            .setTag("micropod-mount-1").setContainerPath("/out/w"))
        .build());
    Path mountsDir = config.containersDir().resolveSibling("mounts");
    assertThat(mounts).contains(
        "virtiofs micropod-mount-0 ro -> " + mountsDir.resolve("micropod-mount-0"),
        "virtiofs micropod-mount-1 rw -> " + mountsDir.resolve("micropod-mount-1"));
    JsonNode spec = new ObjectMapper().readTree(Path.of(r.getBundlePath(), "config.json").toFile());
    List<String> binds = new java.util.ArrayList<>();
    for (JsonNode m : spec.get("mounts")) {
      if (m.get("type").asText().equals("bind")) {
        binds.add(m.get("source").asText() + " " + m.get("destination").asText() + " " + m.get("options"));
      }
    }
    assertThat(binds).containsExactly(
        mountsDir.resolve("micropod-mount-0") + " /data [\"rbind\",\"ro\"]",
        mountsDir.resolve("micropod-mount-1") + " /out/w [\"rbind\",\"rw\"]");
  }

  @Test
  void createRejectsBadMounts() {
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("mount-root")
            .addMounts(io.micropod.agent.v1.HostMount.newBuilder().setTag("t").setContainerPath("/")).build()));
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("mount-rel")
            .addMounts(io.micropod.agent.v1.HostMount.newBuilder().setTag("t").setContainerPath("data")).build()));
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("mount-tag")
            .addMounts(io.micropod.agent.v1.HostMount.newBuilder().setTag("../x").setContainerPath("/d")).build()));
    assertThat(config.containersDir().resolve("mount-root")).doesNotExist();
  }

  @Test
  void createRejectsBadRequests() {
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("../escape").build()));
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("no-args").clearProcess().build()));
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("bad-user")
            .setProcess(ProcessSpec.newBuilder().addArgs("sh").setUser("root")).build()));
    assertStatus(Status.Code.INVALID_ARGUMENT,
        () -> client.blocking().createContainer(create("tty")
            .setProcess(ProcessSpec.newBuilder().addArgs("sh").setTerminal(true))
            .setTerminalSize(io.micropod.agent.v1.TerminalSize.newBuilder().setRows(70000).setColumns(80))
            .build()));
    assertStatus(Status.Code.FAILED_PRECONDITION,
        () -> client.blocking().createContainer(create("no-image")
            .setImageRootfs(dir.resolve("absent").toString()).build()));
    assertThat(config.containersDir().resolve("no-image")).doesNotExist();
  }

  @Test
  void createOfAnExistingIdIsAlreadyExists() {
    client.blocking().createContainer(create("dup").build());
    assertStatus(Status.Code.ALREADY_EXISTS,
        () -> client.blocking().createContainer(create("dup").build()));
  }

  @Test
  void everyRpcOnAnUnknownContainerIsNotFound() throws Exception {
    assertStatus(Status.Code.NOT_FOUND, () -> client.blocking().startContainer(
        StartContainerRequest.newBuilder().setContainerId("ghost").build()));
    assertStatus(Status.Code.NOT_FOUND, () -> client.blocking().waitContainer(
        WaitContainerRequest.newBuilder().setContainerId("ghost").build()));
    assertStatus(Status.Code.NOT_FOUND, () -> client.blocking().signalContainer(
        SignalContainerRequest.newBuilder().setContainerId("ghost").setSignal(15).build()));
    assertStatus(Status.Code.NOT_FOUND, () -> client.blocking().removeContainer(
        RemoveContainerRequest.newBuilder().setContainerId("ghost").build()));
    assertStatus(Status.Code.NOT_FOUND, () -> client.logs("ghost", true));
    TestClient.ExecResult exec = client.exec(ExecStart.newBuilder().setContainerId("ghost")
        .setProcess(ProcessSpec.newBuilder().addArgs("true")).build());
    assertThat(exec.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void execMustBeginWithStart() throws Exception {
    var done = new java.util.concurrent.CompletableFuture<Status>();
    var requests = client.async().execProcess(new io.grpc.stub.StreamObserver<>() {
      @Override
      public void onNext(io.micropod.agent.v1.ExecResponse value) {}

      @Override
      public void onError(Throwable t) {
        done.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        done.complete(Status.OK);
      }
    });
    requests.onNext(ExecRequest.newBuilder().setCloseStdin(true).build());
    Status status = done.get(10, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("start");
  }

  @Test
  void execAndSignalNeedARunningContainer() throws Exception {
    client.blocking().createContainer(create("idle").build());
    TestClient.ExecResult exec = client.exec(ExecStart.newBuilder().setContainerId("idle")
        .setProcess(ProcessSpec.newBuilder().addArgs("true")).build());
    assertThat(exec.status().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertStatus(Status.Code.FAILED_PRECONDITION, () -> client.blocking().signalContainer(
        SignalContainerRequest.newBuilder().setContainerId("idle").setSignal(15).build()));
    assertStatus(Status.Code.INVALID_ARGUMENT, () -> client.blocking().signalContainer(
        SignalContainerRequest.newBuilder().setContainerId("idle").setSignal(0).build()));
  }

  @Test
  void startFailureCarriesTheRuntimesMessage() {
    client.blocking().createContainer(create("fail-1").build());
    assertThatThrownBy(() -> client.blocking().startContainer(
        StartContainerRequest.newBuilder().setContainerId("fail-1").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).isEqualTo(FakeRuntime.NOT_FOUND_MESSAGE);
        });
    assertStatus(Status.Code.FAILED_PRECONDITION, () -> client.blocking().startContainer(
        StartContainerRequest.newBuilder().setContainerId("fail-1").build()));
    client.blocking().removeContainer(
        RemoveContainerRequest.newBuilder().setContainerId("fail-1").build());
  }

  @Test
  void outputOfARuntimeThatExitsIsLoggedAndItsStatusIsTheExitCode() {
    client.blocking().createContainer(create("out-1").build());
    StartContainerResponse started = client.blocking().startContainer(
        StartContainerRequest.newBuilder().setContainerId("out-1").build());
    assertThat(started.getPid()).isZero();
    WaitContainerResponse exit = client.blocking().waitContainer(
        WaitContainerRequest.newBuilder().setContainerId("out-1").build());
    assertThat(exit.getExitCode()).isEqualTo(3);
    assertThat(exit.getSignal()).isZero();
    assertThat(client.logs("out-1", false)).containsExactlyInAnyOrder("OUT:hello\n", "ERR:err\n");
    assertThat(client.logs("out-1", true)).containsExactlyInAnyOrder("OUT:hello\n", "ERR:err\n");
  }

  @Test
  void waitHonoursTheCallsDeadline() {
    client.blocking().createContainer(create("never-started").build());
    assertStatus(Status.Code.DEADLINE_EXCEEDED, () -> client.blocking()
        .withDeadlineAfter(200, TimeUnit.MILLISECONDS)
        .waitContainer(WaitContainerRequest.newBuilder().setContainerId("never-started").build()));
  }

  @Test
  void followedLogsOfARemovedContainerComplete() throws Exception {
    client.blocking().createContainer(create("followed").build());
    java.util.concurrent.CompletableFuture<Status> done = new java.util.concurrent.CompletableFuture<>();
    client.async().readLogs(
        io.micropod.agent.v1.ReadLogsRequest.newBuilder().setContainerId("followed").setFollow(true)
            .build(),
        new io.grpc.stub.StreamObserver<>() {
          @Override
          public void onNext(io.micropod.agent.v1.LogChunk value) {}

          @Override
          public void onError(Throwable t) {
            done.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            done.complete(Status.OK);
          }
        });
    Poll.until("the follower to subscribe", Duration.ofSeconds(10),
        () -> agent.containers().logs("followed").subscribers() == 1);
    client.blocking().removeContainer(
        RemoveContainerRequest.newBuilder().setContainerId("followed").build());
    assertThat(done.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
  }

  @Test
  void removeDeletesTheContainerAndASecondRemoveIsNotFound() {
    client.blocking().createContainer(create("gone").build());
    client.blocking().removeContainer(
        RemoveContainerRequest.newBuilder().setContainerId("gone").build());
    assertThat(config.containersDir().resolve("gone")).doesNotExist();
    assertStatus(Status.Code.NOT_FOUND, () -> client.blocking().removeContainer(
        RemoveContainerRequest.newBuilder().setContainerId("gone").build()));
  }

  @Test
  void shutdownRepliesThenRemovesContainersAndStops(@TempDir Path own) throws Exception {
    AgentConfig c =
        AgentConfig.builder()
            .socket(own.resolve("agent.sock"))
            .containersDir(own.resolve("containers"))
            .runtime(config.runtime())
            .build();
    java.util.concurrent.CompletableFuture<Void> exited = new java.util.concurrent.CompletableFuture<>();
    Agent second = Agent.start(c, 0, RECORDING_MOUNTER, () -> exited.complete(null));
    try (TestClient other = new TestClient(c.socket())) {
      other.blocking().createContainer(create("left-over").build());
      other.blocking().shutdown(ShutdownRequest.getDefaultInstance());
      exited.get(10, TimeUnit.SECONDS);
      assertThat(second.stopped()).isDone();
      assertThat(c.containersDir().resolve("left-over")).doesNotExist();
      assertThat(c.socket()).doesNotExist();
    } finally {
      second.close();
    }
  }

}
