package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The guest's network set-up with the devices Firecracker gives (its PCI mode, which Debian's
 * kernel needs): a virtio-net <b>PCI</b> device and a virtio-blk root filesystem, here from QEMU
 * q35 as the closest stand-in that runs without KVM. /init finds the NIC by MAC, whatever the
 * bus, and configures address, route and resolver as on microvm's virtio-mmio. What no test here
 * covers: Firecracker's own virtio-net emulation and a TAP (no KVM, no CAP_NET_ADMIN).
 */
class PciGuestNetworkIT {

  @Test
  void aVirtioNetPciDeviceGetsTheNatAddressRouteAndResolverAndReachesTheHost() throws Exception {
    HttpServer host = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    host.createContext("/", x -> {
      byte[] b = "hello over pci\n".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    host.start();
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("MICROPOD_VMM", "qemu");
    env.put("MICROPOD_QEMU_MACHINE", "q35");
    env.put("MICROPOD_ROOTFS", "blk");
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(TestImages.home()).environment(env).build();
         MicroPod pod = MicroPod.builder().runtime(runtime).image(TestImages.busybox())
             .exposeHostPorts(host.getAddress().getPort()).command("sleep", "3600")
             .start()) {
      String dev = pod.exec("sh", "-c", "for d in /sys/class/net/*; do [ \"$(cat $d/address)\" = 02:6d:70:00:00:01 ]"
          + " && echo ${d##*/}; done").stdout().trim();
      assertThat(dev).isNotEmpty();
      // the device sits on the PCI bus (…/0000:00:xx.x/virtioN), as with Firecracker --enable-pci
      assertThat(pod.exec("readlink", "-f", "/sys/class/net/" + dev + "/device").stdout()).contains("/pci0000:");
      assertThat(pod.exec("ip", "-o", "-4", "addr", "show", dev).stdout()).contains("10.0.2.15/24");
      assertThat(pod.exec("ip", "route").stdout()).contains("default via 10.0.2.2 dev " + dev);
      assertThat(pod.exec("cat", "/etc/resolv.conf").stdout()).contains("nameserver 10.0.2.3");
      ExecResult r = pod.exec("timeout", "20", "wget", "-q", "-O-",
          "http://" + Network.HOST_NAME + ":" + host.getAddress().getPort() + "/");
      assertThat(r.stdout()).as("exit %d, stderr: %s", r.exitCode(), r.stderr()).isEqualTo("hello over pci\n");
    } finally {
      host.stop(0);
    }
  }
}
