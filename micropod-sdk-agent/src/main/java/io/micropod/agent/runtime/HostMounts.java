package io.micropod.agent.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Host directories shared over virtio-fs: each device (by its tag) is mounted once per guest at
 * {@code <mountsDir>/<tag>} (read-only when the mount is), then bind-mounted into the container
 * ({@code rbind}, plus {@code ro} when read-only: a write fails with EROFS).
 *
 * @param mounts in the host's order
 */
public record HostMounts(List<Mount> mounts) {
  /** No mounts. */
  public static final HostMounts NONE = new HostMounts(List.of());

  private static final Pattern TAG = Pattern.compile("[a-z0-9][a-z0-9-]{0,35}");

  /** One mount; validated. */
  public record Mount(String tag, String containerPath, boolean readOnly) {
    public Mount {
      if (tag == null || !TAG.matcher(tag).matches()) {
        throw ContainerException.invalid("mount tag is not [a-z0-9-]{1,36}: " + tag);
      }
      if (containerPath == null || !containerPath.startsWith("/") || containerPath.equals("/")
          || containerPath.indexOf('\0') >= 0 || containerPath.indexOf(',') >= 0) {
        throw ContainerException.invalid("mount container path is not an absolute path below /: "
            + containerPath);
      }
      for (String part : containerPath.split("/")) {
        if (part.equals("..")) {
          throw ContainerException.invalid("mount container path has '..': " + containerPath);
        }
      }
    }
  }

  public HostMounts {
    mounts = List.copyOf(mounts);
  }

  /**
   * Mounts every device not mounted yet under {@code mountsDir} and adds the bind mounts to
   * {@code config} (an OCI config tree). Returns {@code config}.
   */
  ObjectNode apply(ObjectNode config, Path mountsDir, Mounter mounter) throws IOException {
    ArrayNode list = (ArrayNode) config.get("mounts");
    for (Mount m : mounts) {
      Path dir = mountsDir.resolve(m.tag());
      Files.createDirectories(dir);
      if (!CommandMounter.isMountPoint(dir)) {
        mounter.mountVirtiofs(m.tag(), dir, m.readOnly());
      }
      ObjectNode b = list.addObject();
      b.put("destination", m.containerPath());
      b.put("type", "bind");
      b.put("source", dir.toString());
      ArrayNode options = b.putArray("options");
      options.add("rbind");
      options.add(m.readOnly() ? "ro" : "rw");
    }
    return config;
  }
}
