package io.micropod.agent;

import io.micropod.agent.runtime.Mounter;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.StartContainerRequest;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A host-side model of P5 without a VM, for profiling the agent's stream path: the real agent in
 * its own JVM (run it with the guest's flags, e.g. -Xint) with a fake runtime whose exec writes
 * N bytes of zeros to stdout, and a real gRPC client here reading them. Not a test.
 *
 * <pre>
 * java -cp CP io.micropod.agent.StreamBench agent DIR          # the agent side
 * java -cp CP io.micropod.agent.StreamBench client DIR MIB REPS # the client side
 * </pre>
 */
final class StreamBench {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    if (args[0].equals("agent")) {
      agent(dir);
    } else {
      client(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
    }
  }

  static void agent(Path dir) throws Exception {
    Files.createDirectories(dir.resolve("image"));
    Files.writeString(dir.resolve("init-started-ms"), "1\n");
    Path script = dir.resolve("fake-crun");
    Files.writeString(script, "#!/bin/sh\n"
        + "pidfile=\n"
        + "while [ $# -gt 0 ]; do case \"$1\" in --log|--log-format|--root) shift 2 ;; --version) echo fake; exit 0 ;; *) break ;; esac; done\n"
        + "cmd=$1; shift\n"
        + "case $cmd in\n"
        + "  run) while [ $# -gt 1 ]; do [ \"$1\" = --pid-file ] && pidfile=$2; shift; done; echo $$ > $pidfile; exec sleep 3600 ;;\n"
        + "  exec) exec head -c $(cat " + dir.resolve("bytes") + ") /dev/zero ;;\n"
        + "esac\nexit 0\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    AgentConfig config = AgentConfig.builder()
        .socket(dir.resolve("agent.sock"))
        .containersDir(dir.resolve("containers"))
        .initStartedFile(dir.resolve("init-started-ms"))
        .runtime(script)
        .build();
    Mounter none = new Mounter() {
      @Override
      public void mountOverlay(Path lower, Path upper, Path work, Path target) {}

      @Override
      public void unmount(Path target) {}

      @Override
      public void mountVirtiofs(String tag, Path target, boolean readOnly) {}
    };
    Agent agent = Agent.start(config, 1, none, () -> {});
    System.out.println("agent serving on " + config.socket());
    agent.awaitStopped();
  }

  static void client(Path dir, int mib, int reps) throws Exception {
    long bytes = (long) mib << 20;
    Files.writeString(dir.resolve("bytes"), Long.toString(bytes));
    try (TestClient client = new TestClient(dir.resolve("agent.sock"))) {
      client.blocking().createContainer(CreateContainerRequest.newBuilder().setContainerId("c")
          .setImageRootfs(dir.resolve("image").toString())
          .setProcess(ProcessSpec.newBuilder().addArgs("sleep")).build());
      client.blocking().startContainer(StartContainerRequest.newBuilder().setContainerId("c").build());
      // the same bytes as a file in the container's root, for CopyOut over the same path
      Path file = dir.resolve("containers/c/rootfs/big.bin");
      try (var out = Files.newOutputStream(file)) {
        byte[] block = new byte[1 << 20];
        for (int i = 0; i < mib; i++) {
          out.write(block);
        }
      }
      for (int i = 0; i < reps; i++) {
        long t0 = System.nanoTime();
        long got = 0;
        int messages = 0;
        var it = client.blocking().withDeadlineAfter(600, TimeUnit.SECONDS).copyOut(
            io.micropod.agent.v1.CopyOutRequest.newBuilder().setContainerId("c").setPath("/big.bin").build());
        while (it.hasNext()) {
          got += it.next().getTar().size();
          messages++;
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("copyOut %d: %d tar bytes in %d messages, %.2f s, %.1f MB/s%n",
            i, got, messages, s, bytes / 1e6 / s);
      }
      List<Double> rates = new ArrayList<>();
      for (int i = 0; i < reps; i++) {
        long[] got = {0, 0};
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        long t0 = System.nanoTime();
        StreamObserver<ExecRequest> req = client.async().withDeadlineAfter(600, TimeUnit.SECONDS)
            .execProcess(new StreamObserver<ExecResponse>() {
              @Override
              public void onNext(ExecResponse r) {
                if (r.hasExit()) {
                  exit.complete(r.getExit().getExitCode());
                } else {
                  got[0] += r.getStdout().size();
                  got[1]++;
                }
              }

              @Override
              public void onError(Throwable t) {
                exit.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {}
            });
        req.onNext(ExecRequest.newBuilder().setStart(ExecStart.newBuilder().setContainerId("c")
            .setProcess(ProcessSpec.newBuilder().addArgs("head"))).build());
        int code = exit.get(600, TimeUnit.SECONDS);
        req.onCompleted();
        double s = (System.nanoTime() - t0) / 1e9;
        rates.add(bytes / 1e6 / s);
        System.out.printf("exec %d: %d bytes in %d messages (avg %d), exit %d, %.2f s, %.1f MB/s%n",
            i, got[0], got[1], got[1] == 0 ? 0 : got[0] / got[1], code, s, bytes / 1e6 / s);
      }
    }
  }
}
