package io.micropod;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The servers of {@link EgressIT}, run by it inside its network namespace ({@link TestNetns}):
 * {@code http:ADDR:PORT} serves {@code hello from ADDR}; {@code dns:ADDR} answers UDP queries on
 * port 53 from {@code NAME=ADDR} arguments (A records; NXDOMAIN for other names, no answer for
 * other types) and prints {@code QUERY <name>} for each query it receives, so the test sees which
 * queries reached it. Prints {@code READY} once everything listens.
 */
final class EgressTestServers {
  private EgressTestServers() {}

  public static void main(String[] args) throws Exception {
    Map<String, byte[]> names = new HashMap<>();
    String dns = null;
    for (String a : args) {
      if (a.startsWith("http:")) {
        String[] p = a.split(":");
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(p[1]), Integer.parseInt(p[2])), 0);
        byte[] body = ("hello from " + p[1] + "\n").getBytes(StandardCharsets.UTF_8);
        s.createContext("/", x -> {
          x.sendResponseHeaders(200, body.length);
          x.getResponseBody().write(body);
          x.close();
        });
        s.start();
      } else if (a.startsWith("dns:")) {
        dns = a.substring(4);
      } else {
        String[] kv = a.split("=");
        names.put(kv[0], InetAddress.getByName(kv[1]).getAddress());
      }
    }
    DatagramSocket socket = dns == null ? null : new DatagramSocket(new InetSocketAddress(InetAddress.getByName(dns), 53));
    System.out.println("READY");
    System.out.flush();
    if (socket == null) {
      Thread.currentThread().join();
    }
    byte[] buf = new byte[1500];
    while (true) {
      DatagramPacket in = new DatagramPacket(buf, buf.length);
      socket.receive(in);
      byte[] q = java.util.Arrays.copyOf(in.getData(), in.getLength());
      if (q.length < 17) {
        continue;
      }
      StringBuilder name = new StringBuilder();
      int off = 12;
      while (off < q.length && q[off] != 0) {
        int l = q[off] & 0xff;
        if (l > 63 || off + 1 + l > q.length) {
          break;
        }
        name.append(name.length() == 0 ? "" : ".").append(new String(q, off + 1, l, StandardCharsets.US_ASCII));
        off += 1 + l;
      }
      off++;
      if (off + 4 > q.length) {
        continue;
      }
      int type = ((q[off] & 0xff) << 8) | (q[off + 1] & 0xff);
      String n = name.toString().toLowerCase(java.util.Locale.ROOT);
      System.out.println("QUERY " + n);
      System.out.flush();
      byte[] address = names.get(n);
      ByteArrayOutputStream r = new ByteArrayOutputStream();
      r.write(q, 0, 2);
      r.write(0x81);
      r.write(address == null ? 0x83 : 0x80); // NXDOMAIN, or NOERROR
      r.write(new byte[] {0, 1, 0, (byte) (address != null && type == 1 ? 1 : 0), 0, 0, 0, 0});
      r.write(q, 12, off + 4 - 12);
      if (address != null && type == 1) {
        r.write(new byte[] {(byte) 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4});
        r.write(address);
      }
      byte[] out = r.toByteArray();
      socket.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
    }
  }
}
