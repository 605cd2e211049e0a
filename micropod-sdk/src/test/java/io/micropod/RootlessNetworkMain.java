package io.micropod;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Run by {@link RootlessNetworkIT} in a JVM of an unprivileged user: a network of two pods
 * (busybox httpd as "web", a client) and a host service reached through the host name. Prints
 * one {@code CHECK <name> <value>} line per fact; exits 0 when all held.
 *
 * <p>usage: RootlessNetworkMain HOME IMAGE
 */
public final class RootlessNetworkMain {
  public static void main(String[] args) throws Exception {
    Path home = Path.of(args[0]);
    String image = args[1];
    System.out.println("CHECK user " + System.getProperty("user.name"));
    System.out.println("CHECK uid " + new String(new ProcessBuilder("id", "-u").start()
        .getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim());
    HttpServer host = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    host.createContext("/", x -> {
      byte[] b = "rootless host\n".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    host.start();
    // host directory mounts without root: virtiofsd in the user namespace (read-only bind there)
    Path roDir = java.nio.file.Files.createDirectories(home.resolve("mnt-ro"));
    java.nio.file.Files.writeString(roDir.resolve("note.txt"), "rootless mount\n");
    Path rwDir = java.nio.file.Files.createDirectories(home.resolve("mnt-rw"));
    boolean ok = true;
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(home).build();
         Network net = runtime.newNetwork("rootless");
         MicroPod web = MicroPod.builder().runtime(runtime).image(image).network(net)
             .networkAliases("web").command("sh", "-c", "mkdir -p /www; echo rootless web >"
                 + " /www/index.html; exec httpd -f -p 8080 -h /www").start();
         MicroPod client = MicroPod.builder().runtime(runtime).image(image).network(net)
             .exposeHostPorts(host.getAddress().getPort())
             .mount(Mount.readOnly(roDir, "/ro")).mount(Mount.readWrite(rwDir, "/rw"))
             .command("sleep", "3600").start()) {
      ProcessHandle.current().descendants().forEach(p -> p.info().commandLine().ifPresent(c -> {
        if (c.contains("qemu-system")) {
          System.out.println("CHECK qemu-user " + p.info().user().orElse("?"));
        }
      }));
      Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
      ExecResult r;
      do {
        r = client.exec("timeout", "5", "wget", "-q", "-O-", "http://web:8080/");
      } while (r.exitCode() != 0 && Instant.now().isBefore(deadline));
      System.out.println("CHECK web " + r.stdout().trim());
      ok &= r.stdout().equals("rootless web\n");
      ExecResult h = client.exec("timeout", "10", "wget", "-q", "-O-",
          "http://" + Network.HOST_NAME + ":" + host.getAddress().getPort() + "/");
      System.out.println("CHECK host " + h.stdout().trim());
      ok &= h.stdout().equals("rootless host\n");
      ExecResult ro = client.exec("cat", "/ro/note.txt");
      System.out.println("CHECK mount-read " + ro.stdout().trim());
      ok &= ro.stdout().equals("rootless mount\n");
      ExecResult roWrite = client.exec("sh", "-c", "echo x > /ro/new.txt");
      boolean refused = roWrite.exitCode() != 0 && roWrite.stderr().contains("Read-only file system")
          && !java.nio.file.Files.exists(roDir.resolve("new.txt"));
      System.out.println("CHECK mount-ro-write " + (refused ? "refused" : "allowed: " + roWrite));
      ok &= refused;
      ExecResult rw = client.exec("sh", "-c", "echo made > /rw/made.txt");
      Path made = rwDir.resolve("made.txt");
      Object owner = java.nio.file.Files.exists(made) ? java.nio.file.Files.getAttribute(made, "unix:uid") : "none";
      System.out.println("CHECK mount-rw-owner " + owner + " exit " + rw.exitCode() + " " + rw.stderr().trim());
      ok &= rw.exitCode() == 0 && String.valueOf(owner).equals(new String(new ProcessBuilder("id", "-u").start()
          .getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim());
      client.exec("sh", "-c", "mkdir /rw/open && chmod 777 /rw/open");
      ExecResult other = client.exec(ExecSpec.builder("sh", "-c", "echo x > /rw/open/by-65534.txt").user("65534").build());
      Path byOther = rwDir.resolve("open/by-65534.txt");
      Object otherOwner = java.nio.file.Files.exists(byOther) ? java.nio.file.Files.getAttribute(byOther, "unix:uid") : "none";
      System.out.println("CHECK mount-rw-other-uid exit " + other.exitCode() + " owner " + otherOwner + " "
          + other.stderr().trim());
    } finally {
      host.stop(0);
    }
    System.exit(ok ? 0 : 1);
  }

  private RootlessNetworkMain() {}
}
