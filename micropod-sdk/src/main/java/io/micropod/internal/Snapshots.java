package io.micropod.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micropod.PodSnapshot;
import io.micropod.SnapshotException;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.base.SdkVersion;
import io.micropod.internal.vm.HostCapabilities;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshots under {@code <home>/snapshots/}: one directory per snapshot holding
 * {@value #STATE} (the VMM's device state: QEMU's migration stream without RAM, or Firecracker's
 * microVM state file), {@value #RAM} (the guest memory, sparse: QEMU's a copy of the guest RAM
 * file, Firecracker's its memory file with the zero pages punched out) and {@value #MANIFEST},
 * written last, naming the VMM ({@code vmm}). A snapshot is written into
 * {@code .tmp-<name>-<pid>}, every file fsynced, then renamed into place: a crash (a SIGKILL)
 * leaves only a temp directory, which {@link #list} ignores and removes once its writer is dead,
 * never a directory that looks whole. Removal renames first, for the same reason.
 */
final class Snapshots {
  private static final Logger log = LoggerFactory.getLogger(Snapshots.class);
  static final String STATE = "state";
  static final String RAM = "ram";
  static final String MANIFEST = "manifest.json";
  static final int FORMAT = 1;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
  private static final ObjectMapper JSON = new ObjectMapper();

  private Snapshots() {}

  /**
   * What a snapshot's manifest records; {@code vmm} is the driver that took it ({@code qemu} for a
   * manifest written before the field existed: only QEMU could take one then).
   */
  record Manifest(PodSnapshot snapshot, String stateSha256, long ramBytes, String blockImage,
      long blockImageBytes, String containerId, boolean hostnameSet, String machine, String vmm,
      String networkMode, String imageDigest) {}

  static Path dir(Path home) {
    return home.resolve("snapshots");
  }

  /**
   * @throws IllegalArgumentException naming {@code name} when it is not a snapshot name
   */
  static String checkName(String name) {
    java.util.Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("snapshot name must be 1 to 63 letters, digits, '_', '.', '-',"
          + " starting with a letter or digit: " + name);
    }
    return name;
  }

  /** The guest image a snapshot needs: its version and inputs hash (its manifest's). */
  static String guestIdentity(HostCapabilities host) {
    Path m = host.kernel().getParent().resolve("manifest.json");
    try {
      JsonNode n = JSON.readTree(m.toFile());
      return n.path("version").asText("?") + "/" + n.path("inputsHash").asText("?");
    } catch (IOException e) {
      return "unknown(" + host.kernel().getParent() + ")";
    }
  }

  /** How long the agent may take to get ready for a snapshot (one process spawn under TCG). */
  static final java.time.Duration PREPARE_TIMEOUT = java.time.Duration.ofSeconds(10);

  /**
   * Asks a running guest's agent to start what a restore needs running (its identity helper: a
   * restore then spawns no process in the guest). Best effort: without it a restore is slower,
   * not wrong. A paused guest cannot answer and is left as it is.
   */
  private static void prepareGuest(Boot b) {
    AgentClient agent = b.paused ? null : b.agentClientOrNull();
    if (agent == null) {
      return;
    }
    long started = System.nanoTime();
    try {
      agent.prepareSnapshot(PREPARE_TIMEOUT);
      log.debug("pod {}: agent prepared for the snapshot in {} ms", b.id, (System.nanoTime() - started) / 1_000_000);
    } catch (RuntimeException e) {
      log.warn("pod {}: its agent could not prepare for the snapshot ({}); restores from it will be slower",
          b.id, e.getMessage());
    }
  }

  /**
   * Takes the snapshot {@code name} of the pod of {@code b}.
   *
   * @throws SnapshotException when it cannot; the pod runs on and no snapshot is left
   */
  static PodSnapshot take(Boot b, String name) {
    checkName(name);
    return take(b, name, dir(b.runtime.config().home()), containerIdOf(b));
  }

  /**
   * Takes snapshot {@code name} of the pod of {@code b} into {@code root}, its guest knowing its
   * container as {@code containerId} (empty: none yet, a warm start's template, {@link WarmStarts}).
   */
  static PodSnapshot take(Boot b, String name, Path root, String containerId) {
    if (!b.spec.snapshottable()) { // an attached pod's spec is what its record says
      throw new IllegalStateException("pod " + b.id + " cannot be snapshotted: start it with"
          + " MicroPodSpec.Builder.snapshottable(true) or `micropod run --snapshottable` (QEMU, or"
          + " Firecracker without its jailer; no host directory mounts)");
    }
    // an attached pod boots nothing here: this runtime's host (same home, same guest image)
    HostCapabilities host = b.host != null ? b.host : b.runtime.host();
    Path target = root.resolve(name);
    if (Files.exists(target)) {
      throw new SnapshotException("a snapshot named \"" + name + "\" exists in " + root
          + ": choose another name or remove it first", null, b.id, name);
    }
    Path tmp = root.resolve(".tmp-" + name + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.createDirectories(root);
      Files.createDirectory(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      prepareGuest(b);
      Instant created = Instant.now();
      long ramUsed = b.vmProcess().snapshot(tmp.resolve(STATE), tmp.resolve(RAM));
      long stateBytes = Files.size(tmp.resolve(STATE));
      PodSnapshot s = new PodSnapshot(name, target, b.spec.image().toString(), b.id, created,
          stateBytes + ramUsed, b.spec.memoryMib(), b.spec.cpus(), guestIdentity(host), SdkVersion.get());
      Path block = b.rootfsShare.get().blockImage();
      ObjectNode m = JSON.createObjectNode();
      m.put("format", FORMAT);
      m.put("name", name);
      m.put("image", s.image());
      m.put("sourcePodId", b.id);
      m.put("containerId", containerId);
      m.put("createdAt", created.toString());
      m.put("sizeBytes", s.sizeBytes());
      m.put("memoryMib", s.memoryMib());
      m.put("cpus", s.cpus());
      m.put("guestVersion", s.guestVersion());
      m.put("sdkVersion", s.sdkVersion());
      m.put("machine", host.machine().qemuName());
      // the pod's own driver (an attached pod's record says which), not necessarily this runtime's
      m.put("vmm", b.record() != null ? b.record().driver() : b.runtime.driver().name());
      m.put("hostnameSet", b.spec.hostname().isPresent());
      // shown by MicroPodRuntime.templates(): what a template is for, in a user's words
      m.put("networkMode", b.spec.networkMode().name());
      // an attached pod prepared nothing here; a pod restored from a snapshot resolved no image
      PreparedImage prepared = b.prepared.orNull();
      if (prepared != null && prepared.image() != null) {
        m.put("imageDigest", prepared.image().manifestDigest());
      }
      m.put("blockImage", block.toString());
      m.put("blockImageBytes", Files.size(block));
      m.put("ramBytes", Files.size(tmp.resolve(RAM)));
      m.put("stateSha256", sha256(tmp.resolve(STATE)));
      writeSynced(tmp.resolve(MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
      syncDir(tmp);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
        throw new SnapshotException("a snapshot named \"" + name + "\" appeared in " + root
            + " meanwhile: choose another name", e, b.id, name);
      }
      syncDir(root);
      log.info("pod {}: snapshot {} taken ({} bytes in {})", b.id, name, s.sizeBytes(), target);
      return s;
    } catch (IOException e) {
      deleteTree(tmp);
      if (io.micropod.internal.vm.SparseFiles.isNoSpace(e)) {
        throw new SnapshotException(noSpace(name, b, root, e), e, b.id, name);
      }
      throw new SnapshotException("cannot take snapshot \"" + name + "\" of pod " + b.id + ": " + e.getMessage()
          + "; the pod runs on and no snapshot was kept", e, b.id, name);
    } catch (UncheckedIOException e) {
      deleteTree(tmp);
      throw new SnapshotException("cannot take snapshot \"" + name + "\" of pod " + b.id + ": " + e.getMessage()
          + "; the pod runs on and no snapshot was kept", e, b.id, name);
    } catch (RuntimeException e) {
      deleteTree(tmp);
      throw e;
    }
  }

  /**
   * A full disk's message: what the snapshot needs (the RAM in use as counted by the failed copy;
   * else at most the guest's memory) and what the file system of {@code root} has free now that the
   * temp directory is gone.
   */
  private static String noSpace(String name, Boot b, Path root, IOException e) {
    String needed = e instanceof io.micropod.internal.vm.SparseFiles.NoSpaceException n
        ? mib(n.needed()) + " MiB (the guest's RAM in use) plus its device state (well under 1 MiB)"
        : "up to " + b.spec.memoryMib() + " MiB (the guest's RAM in use, at most its memory)";
    String free;
    try {
      free = mib(Files.getFileStore(root).getUsableSpace()) + " MiB";
    } catch (IOException unknown) {
      free = "an unknown amount (" + unknown.getMessage() + ")";
    }
    return "cannot take snapshot \"" + name + "\" of pod " + b.id + ": no space left in " + root
        + ": it needs " + needed + ", " + free + " are free there; free space there or remove snapshots"
        + " (MicroPodRuntime.removeSnapshot, `micropod snapshot rm`); the pod runs on and no snapshot was kept";
  }

  private static long mib(long bytes) {
    return (bytes + (1 << 20) - 1) >> 20;
  }

  /**
   * The id the guest knows the container by: the first pod's, carried through restores; a pod
   * restored from a template without a container (a warm start) created its own, named by its id.
   */
  static String containerIdOf(Boot b) {
    return b.restoredFrom != null && !b.restoredFrom.containerId().isEmpty() ? b.restoredFrom.containerId()
        : b.recordedContainerId != null ? b.recordedContainerId : b.id;
  }

  private static void writeSynced(Path file, byte[] bytes) throws IOException {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      c.write(java.nio.ByteBuffer.wrap(bytes));
      c.force(true);
    }
  }

  private static void syncDir(Path dir) {
    try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
      c.force(true);
    } catch (IOException e) {
      log.debug("cannot fsync directory {}: {}", dir, e.toString());
    }
  }

  /** The snapshots in {@code home}, oldest first; removes temp directories of dead writers. */
  static List<PodSnapshot> list(Path home) {
    Path root = dir(home);
    List<PodSnapshot> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (n.startsWith(".tmp-")) {
          sweepTemp(p, n);
          continue;
        }
        try {
          out.add(read(p).snapshot());
        } catch (SnapshotException e) {
          log.debug("skipping {}: {}", p, e.getMessage());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
    out.sort(Comparator.comparing(PodSnapshot::createdAt));
    return out;
  }

  /** Removes the temp directories of dead writers (a SIGKILL mid snapshot), as {@link #list} does. */
  static void sweepTemps(Path home) {
    sweepTempsIn(dir(home));
  }

  /** Removes the temp directories of dead writers in {@code root} (snapshots or templates). */
  static void sweepTempsIn(Path root) {
    if (!Files.isDirectory(root)) {
      return;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, ".tmp-*")) {
      for (Path p : ds) {
        sweepTemp(p, p.getFileName().toString());
      }
    } catch (IOException e) {
      log.debug("cannot sweep {}: {}", root, e.toString());
    }
  }

  /** Removes {@code .tmp-<name>-<pid>-<n>} when process pid is gone (a crashed writer). */
  private static void sweepTemp(Path p, String n) {
    String[] parts = n.split("-");
    try {
      long pid = Long.parseLong(parts[parts.length - 2]);
      if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        return;
      }
    } catch (RuntimeException e) {
      // not ours: fall through and remove it, it never was a snapshot
    }
    deleteTree(p);
  }

  static Optional<PodSnapshot> find(Path home, String name) {
    checkName(name);
    Path p = dir(home).resolve(name);
    if (!Files.isDirectory(p)) {
      return Optional.empty();
    }
    return Optional.of(read(p).snapshot());
  }

  static boolean remove(Path home, String name) {
    checkName(name);
    return removeDir(dir(home).resolve(name));
  }

  /** Removes snapshot directory {@code p} (renamed first: never half removed); false when it is not there. */
  static boolean removeDir(Path p) {
    String name = p.getFileName().toString();
    if (!Files.isDirectory(p)) {
      return false;
    }
    Path tmp = p.resolveSibling(".tmp-rm-" + name + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.move(p, tmp, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new UncheckedIOException(e);
    } catch (IOException e) {
      if (!Files.exists(p)) {
        return false;
      }
      throw new UncheckedIOException("cannot remove snapshot " + p, e);
    }
    deleteTree(tmp);
    return true;
  }

  /**
   * Reads the manifest of snapshot directory {@code p}.
   *
   * @throws SnapshotException when it is missing or unreadable (a broken snapshot)
   */
  static Manifest read(Path p) {
    String name = p.getFileName().toString();
    JsonNode m;
    try {
      m = JSON.readTree(p.resolve(MANIFEST).toFile());
    } catch (IOException e) {
      throw new SnapshotException("snapshot \"" + name + "\" in " + p + " has no readable " + MANIFEST
          + " (" + e.getMessage() + "): it is broken; remove it", e, null, name);
    }
    if (m.path("format").asInt() != FORMAT) {
      throw new SnapshotException("snapshot \"" + name + "\" is of format " + m.path("format")
          + ", this SDK reads format " + FORMAT + ": take it again with this SDK", null, null, name);
    }
    try {
      PodSnapshot s = new PodSnapshot(name, p, m.get("image").asText(), m.get("sourcePodId").asText(),
          Instant.parse(m.get("createdAt").asText()), m.get("sizeBytes").asLong(), m.get("memoryMib").asInt(),
          m.get("cpus").asInt(), m.get("guestVersion").asText(), m.get("sdkVersion").asText());
      return new Manifest(s, m.get("stateSha256").asText(), m.get("ramBytes").asLong(),
          m.get("blockImage").asText(), m.get("blockImageBytes").asLong(), m.get("containerId").asText(),
          m.get("hostnameSet").asBoolean(), m.get("machine").asText(), m.path("vmm").asText("qemu"),
          m.path("networkMode").asText(""), m.path("imageDigest").asText(""));
    } catch (RuntimeException e) {
      throw new SnapshotException("snapshot \"" + name + "\" in " + p + " has a broken " + MANIFEST
          + " (" + e + "): remove it", e, null, name);
    }
  }

  /**
   * The manifest of snapshot {@code name}, checked before a restore: the VMM driver {@code vmm}
   * took it (a QEMU device state means nothing to Firecracker, nor the reverse), this SDK and guest image,
   * the same machine type, the device state's checksum, the RAM file's size.
   *
   * @throws SnapshotException naming what does not match and what to do
   */
  static Manifest forRestore(Path home, String name, HostCapabilities host, String vmm, String podId) {
    Path p = dir(home).resolve(checkName(name));
    if (!Files.isDirectory(p)) {
      throw new SnapshotException("no snapshot named \"" + name + "\" in " + dir(home)
          + ": see MicroPodRuntime.snapshots()", null, podId, name);
    }
    return forRestore(p, host, vmm, podId);
  }

  /** {@link #forRestore(Path, String, HostCapabilities, String, String)} of snapshot directory {@code p}. */
  static Manifest forRestore(Path p, HostCapabilities host, String vmm, String podId) {
    String name = p.getFileName().toString();
    Manifest m = read(p);
    if (!m.vmm().equals(vmm)) {
      throw new SnapshotException("snapshot \"" + name + "\" was taken on the " + m.vmm() + " VMM and this runtime"
          + " runs the " + vmm + " driver, which cannot load it: restore it with MICROPOD_VMM=" + m.vmm()
          + " (MicroPodRuntime.builder().vmm(\"" + m.vmm() + "\")), or take it again on " + vmm, null, podId, name);
    }
    PodSnapshot s = m.snapshot();
    if (!s.sdkVersion().equals(SdkVersion.get())) {
      throw new SnapshotException("snapshot \"" + name + "\" was taken by SDK " + s.sdkVersion()
          + ", this is " + SdkVersion.get() + ": take it again with this SDK", null, podId, name);
    }
    String guest = guestIdentity(host);
    if (!s.guestVersion().equals(guest)) {
      throw new SnapshotException("snapshot \"" + name + "\" needs guest image " + s.guestVersion()
          + " but this runtime boots " + guest + ": take it again with this guest image", null, podId, name);
    }
    if (!m.machine().equals(host.machine().qemuName())) {
      throw new SnapshotException("snapshot \"" + name + "\" is of a " + m.machine() + " machine, this host"
          + " runs " + host.machine().qemuName() + ": take it again here", null, podId, name);
    }
    try {
      long ram = Files.size(p.resolve(RAM));
      if (ram != m.ramBytes() || ram != (long) s.memoryMib() << 20) {
        throw new SnapshotException("snapshot \"" + name + "\" is truncated: its RAM file has " + ram
            + " bytes, " + m.ramBytes() + " expected; remove it and take it again", null, podId, name);
      }
      String sha = sha256(p.resolve(STATE));
      if (!sha.equals(m.stateSha256())) {
        throw new SnapshotException("snapshot \"" + name + "\" is corrupt: its device state does not match"
            + " its manifest's checksum; remove it and take it again", null, podId, name);
      }
    } catch (IOException e) {
      throw new SnapshotException("snapshot \"" + name + "\" is incomplete (" + e.getMessage()
          + "): remove it and take it again", e, podId, name);
    }
    return m;
  }

  /** {@code sha256:<hex>} of the file's bytes. */
  static String sha256(Path file) throws IOException {
    java.security.MessageDigest md = newSha256();
    try (java.io.InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[65536];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return "sha256:" + java.util.HexFormat.of().formatHex(md.digest());
  }

  private static java.security.MessageDigest newSha256() {
    try {
      return java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e); // every JDK has it
    }
  }

  static void deleteTree(Path p) {
    try {
      io.micropod.internal.files.FileTrees.deleteTree(p);
    } catch (IOException e) {
      log.warn("cannot remove {}: {}", p, e.toString());
    }
  }
}
