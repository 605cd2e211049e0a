package io.micropod.internal.vm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the QEMU command line and the kernel command line of the guest contract
 * ({@code docs/internals/guest-contract.md}): microvm (virtio-mmio) or q35 (PCI), TCG or KVM,
 * a virtio-serial port for the agent bound to a host Unix socket, a vhost-user-fs device for the
 * image tree, and the console written to a file.
 */
public final class QemuCommandLine {
  /** The virtio-serial port name the guest's /init looks for. */
  public static final String AGENT_PORT_NAME = "io.micropod.agent.0";
  /**
   * The virtio-serial port of bulk exec output (the agent's {@code BulkPort}); its host end is
   * {@link Paths#bulkSocket()}. Keep in step with the agent's {@code BulkPort.NAME}.
   */
  public static final String BULK_PORT_NAME = "io.micropod.bulk.0";
  /** The virtio-fs tag the guest's /init mounts. */
  public static final String ROOTFS_TAG = "micropod-rootfs";
  /** The virtio-fs tag of host directory mount {@code i}: {@code micropod-mount-<i>}. */
  public static String mountTag(int i) {
    return "micropod-mount-" + i;
  }

  private QemuCommandLine() {}

  /**
   * Where the VM's files are.
   *
   * @param bulkSocket the host end of the bulk port ({@link #BULK_PORT_NAME}); null: no bulk port
   */
  public record Paths(Path consoleLog, Path agentSocket, Path virtiofsSocket, Path bulkSocket) {
    /** Without a bulk port. */
    public Paths(Path consoleLog, Path agentSocket, Path virtiofsSocket) {
      this(consoleLog, agentSocket, virtiofsSocket, null);
    }
  }

  public static List<String> build(
      HostCapabilities host, int memoryMib, int cpus, Paths paths, boolean debug) {
    return build(host, memoryMib, cpus, paths, null, debug, GuestNetworkConfig.NONE);
  }

  /**
   * The command line; with {@code blockImage} not null the image tree is that read-only raw
   * image on a virtio-blk device ({@code micropod.rootfs=blk}, the guest's {@code /dev/vda})
   * instead of virtio-fs.
   */
  public static List<String> build(
      HostCapabilities host, int memoryMib, int cpus, Paths paths, Path blockImage, boolean debug) {
    return build(host, memoryMib, cpus, paths, blockImage, debug, GuestNetworkConfig.NONE);
  }

  /** Like {@link #build(HostCapabilities, int, int, Paths, boolean)}, with network devices. */
  public static List<String> build(HostCapabilities host, int memoryMib, int cpus, Paths paths,
      boolean debug, GuestNetworkConfig network) {
    return build(host, memoryMib, cpus, paths, null, debug, network);
  }

  /** The command line with a block image or virtio-fs (see above) and network devices. */
  public static List<String> build(HostCapabilities host, int memoryMib, int cpus, Paths paths,
      Path blockImage, boolean debug, GuestNetworkConfig network) {
    return build(host, memoryMib, cpus, paths, blockImage, debug, network, List.of());
  }

  /** The {@code -sandbox} option: seccomp on, everything it can deny denied (QEMU 7.2 accepts it). */
  static final String SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

  /**
   * How QEMU reaches the host files it reads or writes: the kernel, the initramfs, the console log
   * and the block image (null: none), by path or, for a QEMU started unprivileged ({@link VmmUser}),
   * as descriptors opened before the drop; {@code addFd} are the {@code -add-fd} options that
   * declare the fd sets ({@code /dev/fdset/N}) among them.
   */
  public record FileRefs(String kernel, String initramfs, String console, String blockImage,
      List<String> addFd, String systemImage) {
    public FileRefs {
      addFd = List.copyOf(addFd);
    }

    /** The files of a guest image without a system image ({@link HostCapabilities#systemImage()}). */
    public FileRefs(String kernel, String initramfs, String console, String blockImage, List<String> addFd) {
      this(kernel, initramfs, console, blockImage, addFd, null);
    }

    /** Every file by its path. */
    public static FileRefs byPath(HostCapabilities host, Path console, Path blockImage) {
      return new FileRefs(host.kernel().toString(), host.initramfs().toString(), console.toString(),
          blockImage == null ? null : blockImage.toString(), List.of(),
          host.systemImage() == null ? null : host.systemImage().toString());
    }
  }

  /** The serial of the system image's disk: the guest's /init finds it by it. */
  public static final String SYSTEM_IMAGE_SERIAL = "micropod-sys";
  /** The serial of the block rootfs's disk (virtio-mmio probe order is not the command line's). */
  public static final String ROOTFS_SERIAL = "micropod-rootfs";

  /**
   * The command line with a block image or virtio-fs, network devices, and a vhost-user-fs
   * device per host directory mount (chardev {@code mount<i>}, the mount's tag).
   */
  public static List<String> build(HostCapabilities host, int memoryMib, int cpus, Paths paths,
      Path blockImage, boolean debug, GuestNetworkConfig network, List<VmConfig.MountDevice> mounts) {
    return build(host, memoryMib, cpus, paths, debug, network, mounts,
        FileRefs.byPath(host, paths.consoleLog(), blockImage));
  }

  /** The command line, QEMU reaching its files through {@code files}. */
  public static List<String> build(HostCapabilities host, int memoryMib, int cpus, Paths paths,
      boolean debug, GuestNetworkConfig network, List<VmConfig.MountDevice> mounts, FileRefs files) {
    return build(host, memoryMib, cpus, paths, debug, network, mounts, files, null);
  }

  /**
   * QEMU's control of a pod: its QMP socket (pause, resume, migration) and, for a pod that can be
   * snapshotted ({@link Snapshotting}), its RAM file and whether it starts waiting for a migration
   * stream ({@code -incoming defer}).
   *
   * @param ramFile null: the RAM is an anonymous memfd, as for every other pod
   */
  public record Control(Path qmpSocket, Path ramFile, boolean incoming) {}

  /**
   * TCG's translation buffer, in MiB. QEMU's default lets translated code grow to ~130 MB of host
   * RAM per pod, more than a 256 MiB guest's own pages that a pod touches; 64 MiB measured -72 MiB
   * RSS per idle pod for +6% cold start, 32 MiB -110 MiB for +39% (docs/performance.md, density).
   */
  static final int TCG_TB_MIB = 64;

  /** The command line with a QMP socket and the RAM of {@code control} (null: neither). */
  public static List<String> build(HostCapabilities host, int memoryMib, int cpus, Paths paths,
      boolean debug, GuestNetworkConfig network, List<VmConfig.MountDevice> mounts, FileRefs files,
      Control control) {
    String blockImage = files.blockImage();
    boolean microvm = host.machine() == Machine.MICROVM;
    String accel = host.accel().qemuName();
    List<String> a = new ArrayList<>();
    a.add(host.qemuBinary().toString());
    a.add("-nodefaults");
    a.add("-no-user-config");
    a.add("-nographic");
    a.add("-no-reboot");
    for (String fd : files.addFd()) {
      a.add("-add-fd");
      a.add(fd);
    }
    // QEMU's seccomp filter: a guest that takes over the QEMU process (a device emulation bug)
    // cannot exec, fork, regain privileges or change resource limits; see docs/security.md.
    a.add("-sandbox");
    a.add(SANDBOX);
    a.add("-accel");
    a.add(host.accel() == Accel.TCG ? accel + ",tb-size=" + TCG_TB_MIB : accel);
    a.add("-machine");
    a.add(microvm
        ? "microvm,acpi=on,rtc=on,isa-serial=on,memory-backend=mem"
        : "q35,memory-backend=mem");
    a.add("-cpu");
    a.add(host.accel() == Accel.KVM ? "host" : "max");
    a.add("-m");
    a.add(memoryMib + "M");
    a.add("-smp");
    a.add(Integer.toString(cpus));
    a.add("-object");
    a.add(control == null || control.ramFile() == null
        ? "memory-backend-memfd,id=mem,size=" + memoryMib + "M,share=on"
        // shared, so that the migration stream can leave it out (x-ignore-shared): Snapshotting
        : "memory-backend-file,id=mem,size=" + memoryMib + "M,share=on,mem-path=" + control.ramFile());
    if (microvm) {
      a.add("-global");
      a.add("virtio-mmio.force-legacy=false");
    }
    a.add("-kernel");
    a.add(files.kernel());
    a.add("-initrd");
    a.add(files.initramfs());
    a.add("-append");
    a.add(kernelCmdline(host, debug, blockImage != null ? "blk" : "virtiofs", network));
    a.add("-chardev");
    // a descriptor of an fd set is the capper's pipe (QemuLaunch): appended to, never truncated
    a.add("file,id=console,path=" + files.console()
        + (files.console().startsWith("/dev/fdset/") ? ",append=on" : ""));
    a.add("-serial");
    a.add("chardev:console");
    a.add("-device");
    a.add(microvm ? "virtio-serial-device" : "virtio-serial-pci");
    a.add("-chardev");
    a.add("socket,id=agent,path=" + paths.agentSocket() + ",server=on,wait=off");
    a.add("-device");
    a.add("virtserialport,chardev=agent,name=" + AGENT_PORT_NAME);
    if (paths.bulkSocket() != null) {
      // exec output as raw frames, past gRPC (docs/internals/bulk-channel.md)
      a.add("-chardev");
      a.add("socket,id=bulk,path=" + paths.bulkSocket() + ",server=on,wait=off");
      a.add("-device");
      a.add("virtserialport,chardev=bulk,name=" + BULK_PORT_NAME);
    }
    // Free page reporting: the guest tells QEMU which 2 MiB blocks it has freed and QEMU drops
    // them from the pod's RAM (the memfd or RAM file), so memory a container used and freed goes
    // back to the host. No inflation: the guest keeps all of its memory.
    a.add("-device");
    a.add((microvm ? "virtio-balloon-device" : "virtio-balloon-pci") + ",free-page-reporting=on");
    if (files.systemImage() != null) {
      // The guest image's read-only part (JRE, agent, OCI runtimes), shared by every pod: opened
      // read-only (a shared lock that other readers' locks never conflict with) through the host's
      // page cache, so one copy in host RAM serves all pods.
      a.add("-drive");
      a.add("file=" + files.systemImage() + ",if=none,format=raw,readonly=on,id=sys");
      a.add("-device");
      a.add((microvm ? "virtio-blk-device" : "virtio-blk-pci") + ",drive=sys,serial=" + SYSTEM_IMAGE_SERIAL);
    }
    if (blockImage != null) {
      a.add("-drive");
      a.add("file=" + blockImage + ",if=none,format=raw,readonly=on,id=rootfs");
      a.add("-device");
      a.add((microvm ? "virtio-blk-device" : "virtio-blk-pci") + ",drive=rootfs,serial=" + ROOTFS_SERIAL);
    } else {
      a.add("-chardev");
      a.add("socket,id=rootfs,path=" + paths.virtiofsSocket());
      a.add("-device");
      a.add((microvm ? "vhost-user-fs-device" : "vhost-user-fs-pci") + ",chardev=rootfs,tag=" + ROOTFS_TAG);
    }
    int m = 0;
    for (VmConfig.MountDevice mount : mounts) {
      String id = "mount" + m++;
      a.add("-chardev");
      a.add("socket,id=" + id + ",path=" + mount.socket());
      a.add("-device");
      a.add((microvm ? "vhost-user-fs-device" : "vhost-user-fs-pci") + ",chardev=" + id + ",tag=" + mount.tag());
    }
    netdevs(a, microvm, network);
    if (control != null) {
      a.add("-qmp");
      a.add("unix:" + control.qmpSocket() + ",server=on,wait=off");
      if (control.incoming()) {
        a.add("-incoming");
        a.add("defer");
      }
    }
    return a;
  }

  /**
   * The network devices (docs/networking.md): the NAT as user-mode networking without IPv6, with
   * a {@code hostfwd} on the host's 127.0.0.1 per published port of a detached pod (other pods'
   * inbound goes through the agent's port forwarding); each network as a {@code stream} netdev, a
   * client of the network's switch socket. None: no device, only lo.
   */
  static void netdevs(List<String> a, boolean microvm, GuestNetworkConfig network) {
    String device = microvm ? "virtio-net-device" : "virtio-net-pci";
    if (network.nat()) {
      StringBuilder user = new StringBuilder("user,id=nat,net=10.0.2.0/24,host=")
          .append(GuestNetworkConfig.NAT_GATEWAY).append(",dns=").append(GuestNetworkConfig.NAT_DNS)
          .append(",ipv6=off");
      for (GuestNetworkConfig.HostForward f : network.hostForwards()) {
        user.append(",hostfwd=tcp:127.0.0.1:").append(f.hostPort()).append('-')
            .append(GuestNetworkConfig.natAddress()).append(':').append(f.guestPort());
      }
      a.add("-netdev");
      a.add(user.toString());
      a.add("-device");
      a.add(device + ",netdev=nat,mac=" + GuestNetworkConfig.NAT_MAC);
    }
    int i = 0;
    for (GuestNetworkConfig.Nic nic : network.nics()) {
      String id = "net" + i++;
      a.add("-netdev");
      a.add("stream,id=" + id + ",server=off,addr.type=unix,addr.path=" + nic.switchSocket());
      a.add("-device");
      a.add(device + ",netdev=" + id + ",mac=" + nic.mac());
    }
  }

  /** The kernel command line: the contract's base, {@code tsc_early_khz}, and MicroPod's keys. */
  public static String kernelCmdline(HostCapabilities host, boolean debug) {
    return kernelCmdline(host, debug, "virtiofs", GuestNetworkConfig.NONE);
  }

  /** The kernel command line with {@code micropod.rootfs=<rootfs>} ({@code virtiofs} or {@code blk}). */
  public static String kernelCmdline(HostCapabilities host, boolean debug, String rootfs) {
    return kernelCmdline(host, debug, rootfs, GuestNetworkConfig.NONE);
  }

  /** The kernel command line with the {@code micropod.nic} keys of {@code network}. */
  public static String kernelCmdline(HostCapabilities host, boolean debug, GuestNetworkConfig network) {
    return kernelCmdline(host, debug, "virtiofs", network);
  }

  /** The kernel command line with {@code micropod.rootfs=<rootfs>} and the network's keys. */
  public static String kernelCmdline(
      HostCapabilities host, boolean debug, String rootfs, GuestNetworkConfig network) {
    StringBuilder sb = new StringBuilder("console=ttyS0 quiet panic=1 cryptomgr.notests rdinit=/init");
    if (host.tscKhz() > 0) {
      sb.append(" tsc_early_khz=").append(host.tscKhz());
    }
    sb.append(" micropod.accel=").append(host.accel().qemuName());
    sb.append(" micropod.channel=serial");
    sb.append(" micropod.rootfs=").append(rootfs);
    sb.append(" micropod.debug=").append(debug ? "1" : "0");
    if (!host.ociRuntime().isEmpty()) {
      sb.append(" micropod.runtime=").append(host.ociRuntime());
    }
    for (String nic : network.kernelArgs()) {
      sb.append(' ').append(nic);
    }
    return sb.toString();
  }
}
