package io.micropod;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The main of the second JVMs the cross-process tests start (test sources only). Prints
 * {@code KEY value} lines the tests wait for.
 */
public final class PodMain {
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "start-detached" -> {
        // starts a detached pod and exits without closing it
        MicroPod pod = MicroPod.builder().image(TestImages.busybox()).name(args[1]).detached(true)
            .command("sh", "-c", "echo hello-from-first-jvm; exec sleep 3600").start();
        System.out.println("POD " + pod.id());
        System.out.flush();
        System.exit(0);
      }
      case "detached-web" -> {
        // a detached pod serving /www over busybox httpd on container port 8080, published on host
        // port args[2] (0: random), with an 8 MiB random file /www/big; prints its id, host port and
        // the file's sha256, then exits (args[1] "exit") or blocks until killed ("block")
        int hostPort = Integer.parseInt(args[2]);
        MicroPod pod = MicroPod.builder().image(TestImages.busybox()).detached(true)
            .port(hostPort == 0 ? PortMapping.ofContainerPort(8080) : PortMapping.of(hostPort, 8080))
            .command("sh", "-c", "mkdir -p /www; echo hello-detached > /www/index.html;"
                + " dd if=/dev/urandom of=/www/big bs=1M count=8 2>/dev/null;"
                + " echo serving; exec httpd -f -p 8080 -h /www").start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        ExecResult sum;
        do { // the file is complete once httpd runs (it is exec'd after dd)
          sum = pod.exec("sh", "-c", "pidof httpd >/dev/null && sha256sum /www/big");
        } while (sum.exitCode() != 0 && System.nanoTime() - deadline < 0);
        System.out.println("POD " + pod.id());
        System.out.println("PORT " + pod.mappedPort(8080));
        System.out.println("SHA256 " + sum.stdout().trim().split(" ")[0]);
        System.out.flush();
        if (args[1].equals("exit")) {
          System.exit(0);
        }
        System.in.read();
        Thread.sleep(Long.MAX_VALUE);
      }
      case "hold-ticking" -> {
        // holds a pod that prints a line a second and exits 5 on SIGTERM; when its container has
        // exited (another process stopped it), prints EXITED <code>, closes the pod and exits
        MicroPod pod = MicroPod.builder().image(TestImages.busybox())
            .command("sh", "-c", "trap 'echo got TERM; exit 5' TERM; i=0;"
                + " while :; do echo tick $i; i=$((i+1)); sleep 1; done").start();
        System.out.println("POD " + pod.id());
        System.out.flush();
        int code = pod.waitFor();
        System.out.println("EXITED " + code);
        System.out.flush();
        pod.close();
        System.exit(0);
      }
      case "start-detached-lifetime" -> {
        // starts a detached pod with a max lifetime of args[1] seconds and exits without closing it
        MicroPod pod = MicroPod.builder().image(TestImages.busybox()).detached(true)
            .maxLifetime(Duration.ofSeconds(Long.parseLong(args[1])))
            .command("sleep", "3600").start();
        System.out.println("POD " + pod.id());
        System.out.flush();
        System.exit(0);
      }
      case "start-detached-watched" -> {
        // starts a detached pod, printing "PHASE <id> <phase>" as each phase starts; at phase
        // args[1] (or never: "none") this JVM SIGKILLs itself from the listener, so the boot
        // thread is stopped exactly there
        io.micropod.event.MicroPodListener watch = killingAt(args[1]);
        MicroPod pod = MicroPod.builder().image(TestImages.busybox()).detached(true).listener(watch)
            .command("sleep", "3600").start();
        System.out.println("POD " + pod.id());
        System.out.flush();
        System.exit(0);
      }
      case "pause-of" -> {
        // attaches to pod args[1], pauses it and exits without closing it (micropod pause)
        MicroPod pod = MicroPodRuntime.defaultRuntime().attach(args[1]);
        pod.pause();
        System.out.println("PAUSED " + pod.id());
        System.out.flush();
        System.exit(0);
      }
      case "attach-paused" -> {
        // attaches to paused pod args[1] (attach lets it run for the handshake and pauses it
        // again), tries an exec and exits without closing it (micropod exec on a paused pod)
        long t0 = System.nanoTime();
        MicroPod pod = MicroPodRuntime.defaultRuntime().attach(args[1]);
        try {
          pod.exec("true");
          System.out.println("REFUSED no");
        } catch (IllegalStateException e) {
          System.out.println("REFUSED " + (e.getMessage().contains("paused") ? "paused" : e.getMessage()));
        }
        System.out.println("ATTACH_MS " + (System.nanoTime() - t0) / 1_000_000);
        System.out.flush();
        System.exit(0);
      }
      case "resume-and-exec" -> {
        // attaches to paused pod args[1] (attach lets it run for the handshake), resumes it, runs
        // echo args[2] and exits without closing it (micropod resume, then micropod exec)
        long t0 = System.nanoTime();
        MicroPod pod = MicroPodRuntime.defaultRuntime().attach(args[1]);
        long attachMs = (System.nanoTime() - t0) / 1_000_000;
        pod.resume();
        System.out.println("EXEC " + pod.exec("echo", args[2]).stdout().trim());
        System.out.println("ATTACH_MS " + attachMs);
        System.out.flush();
        System.exit(0);
      }
      case "snapshot-of" -> {
        // attaches to pod args[1] and snapshots it as args[2]; the test kills this JVM meanwhile
        MicroPod pod = MicroPodRuntime.defaultRuntime().attach(args[1]);
        System.out.println("ATTACHED " + pod.id());
        System.out.flush();
        PodSnapshot s = pod.snapshot(args[2]);
        System.out.println("SNAPSHOT " + s.name());
        System.out.flush();
        System.exit(0);
      }
      case "restore-watched" -> {
        // restores a pod from snapshot args[1] (detached when args[3] is "detached"), printing
        // "PHASE <id> <phase>" as each phase starts and SIGKILLing itself at phase args[2]
        PodSnapshot snap = MicroPodRuntime.defaultRuntime().snapshot(args[1]).orElseThrow();
        MicroPod pod = MicroPod.builder().fromSnapshot(snap).detached(args[3].equals("detached"))
            .listener(killingAt(args[2])).start();
        System.out.println("POD " + pod.id());
        System.out.flush();
        System.in.read();
      }
      case "hold" -> {
        // starts a pod that dies with this JVM, then blocks until killed
        MicroPod pod = MicroPod.builder().image(TestImages.busybox()).command("sleep", "3600").start();
        System.out.println("POD " + pod.id());
        System.out.flush();
        System.in.read();
        pod.close();
      }
      case "exit-grace" -> {
        // a container that reports SIGTERM to the host (args[1]: URL); this JVM then waits to be
        // terminated, with exit grace args[2] (ISO-8601 duration)
        String trap = "trap 'wget -q -O /dev/null " + args[1] + "; exit 0' TERM; "
            + "echo ready; while true; do sleep 1; done";
        MicroPod pod = MicroPod.builder().image(TestImages.busybox())
            .exposeHostPorts(java.net.URI.create(args[1]).getPort())
            .exitGracePeriod(Duration.parse(args[2])).command("sh", "-c", trap).start();
        pod.followLogs(line -> {
          if (line.text().equals("ready")) {
            System.out.println("POD " + pod.id());
            System.out.flush();
          }
        });
        System.in.read();
      }
      case "start-and-exec" -> {
        // a runtime on its own home (args[1]), the guest image of the main home
        Path guest = Path.of(args[2]);
        try (MicroPodRuntime rt = MicroPodRuntime.builder().home(Path.of(args[1]))
                .kernel(guest.resolve("vmlinux")).initramfs(guest.resolve("initramfs.cpio")).build();
            MicroPod pod = MicroPod.builder().runtime(rt).image(TestImages.busybox()).command("sleep", "3600").start()) {
          System.out.println("EXEC " + pod.exec("echo", "ok").stdout().trim());
        }
      }
      case "secrets" -> {
        // runs a pod with a secret env value at DEBUG and prints every exception in full
        String marker = args[1];
        try (MicroPod pod = MicroPod.builder().image(TestImages.busybox()).env("SECRET_TOKEN", marker)
            .command("sleep", "3600").start()) {
          System.out.println("EXEC " + pod.exec("sh", "-c", "test -n \"$SECRET_TOKEN\" && echo has-secret").stdout().trim());
          System.out.println("SPEC " + pod.spec());
        }
        try {
          MicroPod.builder().image(TestImages.busybox()).env("SECRET_TOKEN", marker)
              .command("/no/such/binary").startupTimeout(Duration.ofSeconds(120)).start().close();
          System.out.println("UNEXPECTED start succeeded");
        } catch (MicroPodException e) {
          StringWriter w = new StringWriter();
          e.printStackTrace(new PrintWriter(w));
          System.out.println("FAILED " + e.getClass().getSimpleName());
          System.out.println(w);
        }
        System.out.println("DONE");
      }
      case "net-join" -> {
        // joins network args[1] of the parent JVM with a pod "peer" (httpd), reaches "web", blocks
        MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
        System.out.println("LISTED " + runtime.networks().stream().map(NetworkInfo::name).toList());
        try {
          runtime.newNetwork(args[1]).close();
          System.out.println("CREATE-ACCEPTED");
        } catch (NetworkException e) {
          System.out.println("CREATE-REFUSED " + e.getMessage());
        }
        Network net = runtime.network(args[1]);
        System.out.println("JOINED owned=" + net.owned() + " owner=" + net.ownerPid() + " subnet=" + net.subnet());
        MicroPod pod = MicroPod.builder().image(TestImages.busybox()).network(net).networkAliases("peer")
            .command("sh", "-c", "mkdir -p /www; echo hello from peer > /www/index.html;"
                + " exec httpd -f -p 8080 -h /www").start();
        System.out.println("POD " + pod.id());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        ExecResult r;
        do {
          r = pod.exec("timeout", "5", "wget", "-q", "-O-", "http://web:8080/");
        } while (r.exitCode() != 0 && System.nanoTime() - deadline < 0);
        System.out.println("WEB " + r.stdout().trim() + r.stderr().trim());
        System.out.flush();
        System.in.read(); // until killed
      }
      case "net-detached" -> {
        // creates network args[1] and starts two detached pods on it: "db" (httpd, 8080) and "app";
        // prints their ids once app reaches db by alias, then exits (args[2] "exit") or blocks
        // until killed ("block"), closing nothing
        Network net = MicroPodRuntime.defaultRuntime().newNetwork(args[1]);
        MicroPod db = MicroPod.builder().image(TestImages.busybox()).memoryMib(256).detached(true)
            .network(net).networkAliases("db")
            .command("sh", "-c", "mkdir -p /www; echo hello from db > /www/index.html;"
                + " exec httpd -f -p 8080 -h /www").start();
        MicroPod app = MicroPod.builder().image(TestImages.busybox()).memoryMib(256).detached(true)
            .network(net).networkAliases("app").command("sleep", "3600").start();
        System.out.println("DB " + db.id());
        System.out.println("APP " + app.id());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        ExecResult r;
        do {
          r = app.exec("timeout", "5", "wget", "-q", "-O-", "http://db:8080/");
        } while (r.exitCode() != 0 && System.nanoTime() - deadline < 0);
        System.out.println("REACHED " + r.stdout().trim() + r.stderr().trim());
        System.out.flush();
        if (args[2].equals("exit")) {
          System.exit(0);
        }
        System.in.read(); // until killed
      }
      case "net-own" -> {
        // creates network args[1] and blocks until killed
        Network net = MicroPodRuntime.defaultRuntime().newNetwork(args[1]);
        System.out.println("NETWORK " + net.name() + " " + net.subnet());
        System.out.flush();
        System.in.read();
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  /**
   * Prints "PHASE <id> <phase>" as each phase starts; at phase {@code killAt} (or never: "none")
   * this JVM SIGKILLs itself from the listener, so the boot thread is stopped exactly there.
   */
  private static io.micropod.event.MicroPodListener killingAt(String killAt) {
    return new io.micropod.event.MicroPodListener() {
      @Override
      public void phaseStart(String podId, io.micropod.event.Phase phase) {
        System.out.println("PHASE " + podId + " " + phase);
        System.out.flush();
        if (phase.name().equals(killAt)) {
          try {
            new ProcessBuilder("kill", "-KILL", Long.toString(ProcessHandle.current().pid())).start().waitFor();
            Thread.currentThread().join(); // the signal is on its way
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
      }
    };
  }

  private PodMain() {}
}
