package io.micropod.internal.agent;

import io.micropod.SeccompProfile;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.HostMount;
import io.micropod.agent.v1.Seccomp;
import java.util.List;

/**
 * What {@code CreateContainer} needs (the protocol's {@code CreateContainerRequest}).
 *
 * @param imageRootfs where the guest mounted the image tree (the overlay's lower layer)
 * @param hosts the content of the container's managed /etc/hosts
 * @param resolvConf the content of its /etc/resolv.conf
 * @param mounts the virtio-fs mounts, in the spec's order
 * @param seccomp the container's system call filter
 * @param tty the main process's terminal size when it has one ({@code process.terminal()}), else null
 * @param openStdin whether the main process's stdin stays open for attach
 */
public record ContainerLaunch(String containerId, String imageRootfs, AgentProcess process,
    String hostname, long memoryLimitBytes, String hosts, String resolvConf, List<Mount> mounts,
    SeccompProfile seccomp, io.micropod.TerminalSize tty, boolean openStdin) {
  public ContainerLaunch {
    mounts = List.copyOf(mounts);
  }

  /** No terminal, stdin {@code /dev/null}. */
  public ContainerLaunch(String containerId, String imageRootfs, AgentProcess process,
      String hostname, long memoryLimitBytes, String hosts, String resolvConf, List<Mount> mounts,
      SeccompProfile seccomp) {
    this(containerId, imageRootfs, process, hostname, memoryLimitBytes, hosts, resolvConf, mounts,
        seccomp, null, false);
  }

  /** A host directory shared over virtio-fs under {@code tag}, mounted at {@code containerPath}. */
  public record Mount(String tag, String containerPath, boolean readOnly) {}

  CreateContainerRequest toProto() {
    CreateContainerRequest.Builder b = CreateContainerRequest.newBuilder()
        .setContainerId(containerId)
        .setImageRootfs(imageRootfs)
        .setProcess(process.toProto())
        .setHostname(hostname)
        .setMemoryLimitBytes(memoryLimitBytes)
        .setHosts(hosts)
        .setResolvConf(resolvConf)
        .setSeccomp(seccomp == SeccompProfile.UNCONFINED
            ? Seccomp.SECCOMP_UNCONFINED : Seccomp.SECCOMP_DEFAULT);
    if (tty != null) {
      b.setTerminalSize(io.micropod.agent.v1.TerminalSize.newBuilder()
          .setColumns(tty.columns()).setRows(tty.rows()));
    }
    b.setOpenStdin(openStdin);
    for (Mount m : mounts) {
      b.addMounts(HostMount.newBuilder().setTag(m.tag()).setContainerPath(m.containerPath())
          .setReadOnly(m.readOnly()));
    }
    return b.build();
  }
}
