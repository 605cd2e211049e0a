package io.micropod.agent.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The container's managed {@code /etc/hosts} and {@code /etc/resolv.conf}: files of the
 * container's directory bind-mounted read-only into the container, as Docker does. The host
 * sends their content at CreateContainer; {@link #rewriteHosts} replaces the hosts file in place
 * (same inode: a bind mount of a file pins the inode, so a rename would not reach the container).
 *
 * @param hosts content of /etc/hosts; empty: the image's own file, untouched
 * @param resolvConf content of /etc/resolv.conf; empty: the image's own file, untouched
 */
public record NetworkFiles(String hosts, String resolvConf) {
  /** Nothing managed: the image's files. */
  public static final NetworkFiles NONE = new NetworkFiles("", "");

  static final String HOSTS = "hosts";
  static final String RESOLV_CONF = "resolv.conf";

  public NetworkFiles {
    hosts = hosts == null ? "" : hosts;
    resolvConf = resolvConf == null ? "" : resolvConf;
    for (String s : new String[] {hosts, resolvConf}) {
      if (s.indexOf('\0') >= 0) {
        throw ContainerException.invalid("hosts / resolv_conf contain NUL");
      }
    }
  }

  /**
   * Writes the managed files into {@code containerDir} and adds their bind mounts to
   * {@code config} (an OCI config tree). Returns {@code config}.
   */
  ObjectNode apply(ObjectNode config, Path containerDir) throws IOException {
    if (!hosts.isEmpty()) {
      Path file = containerDir.resolve(HOSTS);
      Files.writeString(file, hosts, StandardCharsets.UTF_8);
      bind((ArrayNode) config.get("mounts"), file, "/etc/hosts");
    }
    if (!resolvConf.isEmpty()) {
      Path file = containerDir.resolve(RESOLV_CONF);
      Files.writeString(file, resolvConf, StandardCharsets.UTF_8);
      bind((ArrayNode) config.get("mounts"), file, "/etc/resolv.conf");
    }
    return config;
  }

  private static void bind(ArrayNode mounts, Path source, String destination) {
    ObjectNode m = mounts.addObject();
    m.put("destination", destination);
    m.put("type", "bind");
    m.put("source", source.toString());
    ArrayNode options = m.putArray("options");
    options.add("rbind");
    options.add("ro");
  }

  /**
   * Replaces the content of {@code containerDir/hosts} in place (truncate and write, same
   * inode), so that the container's bind mount shows it.
   *
   * @return false when the container has no managed hosts file
   */
  static boolean rewriteHosts(Path containerDir, String content) throws IOException {
    Path file = containerDir.resolve(HOSTS);
    if (!Files.isRegularFile(file)) {
      return false;
    }
    Files.writeString(file, content, StandardCharsets.UTF_8,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    return true;
  }
}
