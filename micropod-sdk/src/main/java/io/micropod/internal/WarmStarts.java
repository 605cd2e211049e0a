package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.NetworkMode;
import io.micropod.PodSnapshot;
import io.micropod.PodTemplate;
import io.micropod.SnapshotException;
import io.micropod.event.Phase;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.base.SdkVersion;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.SparseFiles;
import io.micropod.internal.vm.VmmDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warm starts (docs/snapshots.md): a pod restored from its configuration's <em>template</em>, a
 * snapshot of a booted guest whose agent serves and that has no container yet, then given its
 * container by the cold start's container steps. The first start of a configuration boots cold and
 * snapshots its VM into the template ({@code template.write}) before it creates its container.
 * Templates live in {@code <home>/templates/<key>/}, written as snapshots are (a temp directory,
 * renamed when whole); the key ({@link #key}) is everything a restored VM must share with the one
 * that was snapshotted. A template that fails to restore is removed and the pod starts cold.
 * {@link #list}, {@link #remove} and {@link #prune} are {@code MicroPodRuntime}'s templates API;
 * a restore reads a pinned copy ({@link #pin}), so removing a template never breaks one.
 */
final class WarmStarts {
  private static final Logger log = LoggerFactory.getLogger(WarmStarts.class);
  /** {@code 1}: start warm every pod whose spec does not say otherwise and that can be. */
  static final String ENV = "MICROPOD_WARM_START";
  /** Bumped when what a template holds changes: old templates are then simply not found. */
  private static final int FORMAT = 1;
  /** A template's id is its key: 32 hex digits, never a path ('/', '.') out of the templates. */
  private static final Pattern ID = Pattern.compile("[0-9a-f]{32}");
  /** The directory a restore reads a template through: {@code .tmp-use-<pid>-<n>/<id>/} ({@link #pin}). */
  private static final String PIN = ".tmp-use-";
  private static final List<String> FILES = List.of(Snapshots.MANIFEST, Snapshots.STATE, Snapshots.RAM);

  private WarmStarts() {}

  /**
   * A warm start: {@code spec} is the pod's spec made snapshottable (a template is a snapshot),
   * {@code template} the template's directory; {@code restore} false after a template failed.
   */
  record Plan(MicroPodSpec spec, Path template, String key, boolean restore) {
    Plan cold() {
      return new Plan(spec, template, key, false);
    }
  }

  static Path dir(Path home) {
    return home.resolve("templates");
  }

  /**
   * The warm start of {@code spec}, or null to start it cold: not asked for (the spec's
   * {@code warmStart}, else {@link #ENV}), or impossible here (logged at DEBUG: the spec's
   * {@code build()} already refused an explicit {@code warmStart(true)} it can never have).
   */
  static Plan plan(MicroPodSpec spec, RuntimeServices runtime) {
    if (!spec.warmStart().orElseGet(() -> fromEnvironment(runtime.config()))) {
      return null;
    }
    String cannot = cannot(spec, runtime.driver());
    if (cannot != null) {
      log.debug("a pod of {} starts cold, not warm: {}", spec.image(), cannot);
      return null;
    }
    HostCapabilities host = runtime.host();
    String key = key(spec, SdkVersion.get(), Snapshots.guestIdentity(host), runtime.driver().name(),
        host.machine().qemuName(), host.accel() + "/" + host.tscKhz() + "/" + host.kernel() + "/" + host.initramfs()
            + "/" + host.systemImage(), runtime.config().debug());
    return new Plan(spec.newBuilder().snapshottable(true).build(), dir(runtime.config().home()).resolve(key), key,
        true);
  }

  static boolean fromEnvironment(RuntimeConfig config) {
    return "1".equals(config.getenv(ENV));
  }

  /** Why {@code spec} cannot start warm with {@code driver}; null when it can. */
  static String cannot(MicroPodSpec spec, VmmDriver driver) {
    String why = cannot(spec);
    if (why != null) {
      return why;
    }
    String unsupported = driver.snapshotsUnsupported();
    if (unsupported != null) {
      return unsupported;
    }
    if (driver.restoresBySpawning()) {
      // Firecracker's snapshot path has met only a stand-in (docs/firecracker.md)
      return "the " + driver.name() + " driver does not start pods warm (only QEMU does)";
    }
    return null;
  }

  /**
   * Why {@code spec} cannot start warm with any driver; null when it can. The rule is
   * {@code MicroPodSpec.Builder.warmStart(true)}'s, which {@code build()} enforces: a spec that
   * did not ask (warm starts from {@link #ENV}) is checked by asking.
   */
  static String cannot(MicroPodSpec spec) {
    try {
      spec.newBuilder().warmStart(true).build();
      return null;
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }

  /**
   * The template key: a hash of everything a restored VM must share with the snapshotted one (the
   * guest image, the SDK, the VMM driver, the machine and accelerator, the VM's memory and cpus,
   * the image whose block device the guest holds open, the network devices, the detached VMM, the
   * guest's debug mode); never of what only the container uses (command, environment, user,
   * hostname, ports, files, health check). 32 hex digits.
   */
  static String key(MicroPodSpec spec, String sdkVersion, String guest, String vmm, String machine, String accel,
      boolean debug) {
    List<String> parts = new ArrayList<>(List.of("format=" + FORMAT, "sdk=" + sdkVersion, "guest=" + guest,
        "vmm=" + vmm, "machine=" + machine, "accel=" + accel, "memoryMib=" + spec.memoryMib(),
        "cpus=" + spec.cpus(), "image=" + spec.image(), "platform=" + spec.platform(),
        "networkMode=" + spec.networkMode(), "detached=" + spec.detached(),
        "debug=" + debug));
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(String.join("\n", parts).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e); // every JDK has it
    }
  }

  /**
   * The template of {@code plan}, checked as a snapshot before a restore; null when there is none
   * (or a broken or foreign one, which is removed: the pod starts cold and makes it again).
   * Removes the temp directories of dead writers first (a SIGKILL while a template was written).
   */
  static Snapshots.Manifest find(Plan plan, RuntimeServices runtime, String podId) {
    Snapshots.sweepTempsIn(plan.template().getParent());
    if (!plan.restore() || !Files.isDirectory(plan.template())) {
      return null;
    }
    Path pinned = pin(plan.template());
    try {
      Snapshots.Manifest m = Snapshots.forRestore(pinned != null ? pinned : plan.template(), runtime.host(),
          runtime.driver().name(), podId);
      markUsed(plan.template());
      return m;
    } catch (SnapshotException e) {
      unpin(pinned);
      discard(plan, podId, e);
      return null;
    }
  }

  /**
   * Pins template directory {@code template} for one restore: hard links to its files in
   * {@code <templates>/.tmp-use-<pid>-<n>/<id>/}, which the restore then reads (its checks, the RAM
   * copy, QEMU's load of the device state) instead of the template. This is why removing a
   * template ({@link #remove}, {@link #prune}, {@code rm -rf}) while a pod restores from it is safe
   * for that pod: a removal renames the template away, then unlinks its files, and a file lives on
   * while another link (the pin's) names it, so the restore reads the template whole, and the
   * removal stands (the pod does not fall back to a cold start that would write the template
   * again). The links are checked to be the very files (inodes) the template directory holds once
   * all are made: a removal or replacement between two links would give a pin of mixed or missing
   * files, which is dropped. The pin goes once the pod has started or failed ({@link #unpin}), or
   * with the sweep of temp directories once its process is dead; until then its files hold their
   * disk space.
   *
   * @return the pinned directory; null when there is no whole pin (the template is broken, being
   *     removed, or on a file system without hard links): the restore then reads the template
   *     itself, whose checks fail if it is gone, and the pod starts cold
   */
  static Path pin(Path template) {
    Path root = template.resolveSibling(PIN + ProcessHandle.current().pid() + "-" + System.nanoTime());
    Path pinned = root.resolve(template.getFileName().toString());
    try {
      Files.createDirectory(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Files.createDirectory(pinned);
      for (String f : FILES) {
        Files.createLink(pinned.resolve(f), template.resolve(f));
      }
      for (String f : FILES) {
        if (!Objects.equals(fileKey(pinned.resolve(f)), fileKey(template.resolve(f)))) {
          throw new IOException(template.resolve(f) + " was replaced while it was pinned");
        }
      }
      return pinned;
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("cannot pin template {} ({}): the restore reads it in place", template, e.toString());
      Snapshots.deleteTree(root);
      return null;
    }
  }

  private static Object fileKey(Path file) throws IOException {
    return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
  }

  /** Removes the pin {@code restoredFrom} was read through, if any: the restore no longer reads it. */
  static void unpin(Snapshots.Manifest restoredFrom) {
    if (restoredFrom != null) {
      unpin(restoredFrom.snapshot().path());
    }
  }

  private static void unpin(Path pinned) {
    if (pinned != null && pinned.getParent().getFileName().toString().startsWith(PIN)) {
      Snapshots.deleteTree(pinned.getParent());
    }
  }

  /**
   * Records that a pod starts from {@code template}: its directory's modification time, which
   * nothing else changes once the template is whole (its entries never change), so a directory
   * newer than its manifest (written last) was used then ({@link #describe}).
   */
  private static void markUsed(Path template) {
    try {
      Files.setLastModifiedTime(template, FileTime.from(Instant.now()));
    } catch (IOException e) {
      log.debug("cannot mark template {} used: {}", template, e.toString());
    }
  }

  /**
   * @throws IllegalArgumentException naming {@code id} when it is not a template id (anything but
   *     32 hex digits, such as a path: {@code ../snapshots})
   */
  static String checkId(String id) {
    Objects.requireNonNull(id, "id");
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("template id must be 32 hex digits as MicroPodRuntime.templates() and"
          + " `micropod template ls` list them: " + id);
    }
    return id;
  }

  /**
   * The templates in {@code home}, oldest first; an unreadable one is listed with its problem.
   * Removes the temp directories of dead writers and pins first.
   */
  static List<PodTemplate> list(Path home) {
    Path root = dir(home);
    Snapshots.sweepTempsIn(root);
    List<PodTemplate> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        // only template directories: temp directories, pins and anything else are not templates
        if (ID.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          out.add(describe(p));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
    out.sort(Comparator.comparing(PodTemplate::createdAt).thenComparing(PodTemplate::id));
    return out;
  }

  /** The template {@code id} in {@code home}; empty when there is none. */
  static Optional<PodTemplate> find(Path home, String id) {
    Path p = dir(home).resolve(checkId(id));
    return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? Optional.of(describe(p)) : Optional.empty();
  }

  /**
   * Removes template {@code id} as a snapshot is removed (renamed away first: never half removed);
   * a pod restoring from it meanwhile reads its pin ({@link #pin}). False when there is none.
   */
  static boolean remove(Path home, String id) {
    return Snapshots.removeDir(dir(home).resolve(checkId(id)));
  }

  /** Removes every template in {@code home}, unreadable ones included; returns those removed. */
  static List<PodTemplate> prune(Path home) {
    List<PodTemplate> removed = new ArrayList<>();
    for (PodTemplate t : list(home)) {
      if (Snapshots.removeDir(t.path())) {
        removed.add(t);
      }
    }
    return removed;
  }

  /** Template directory {@code p} as listed; never throws: what cannot be read is its problem. */
  static PodTemplate describe(Path p) {
    String id = p.getFileName().toString();
    long size = allocatedBytes(p);
    try {
      Snapshots.Manifest m = Snapshots.read(p);
      PodSnapshot s = m.snapshot();
      return new PodTemplate(id, p, s.image(), m.imageDigest().isEmpty() ? null : m.imageDigest(), s.memoryMib(),
          s.cpus(), networkMode(m.networkMode()), m.vmm(), s.sdkVersion(), s.guestVersion(), size, s.createdAt(),
          lastUsed(p), null);
    } catch (RuntimeException e) { // SnapshotException, or a manifest of another shape
      return new PodTemplate(id, p, "", null, 0, 0, null, "", "", "", size, modified(p), null,
          e instanceof SnapshotException ? e.getMessage() : "template " + id + " is broken (" + e + "): remove it");
    }
  }

  private static NetworkMode networkMode(String name) {
    try {
      return name.isEmpty() ? null : NetworkMode.valueOf(name);
    } catch (IllegalArgumentException e) {
      return null; // a mode of a later SDK
    }
  }

  /** When a pod last started from {@code p}: its directory's time when newer than its manifest's ({@link #markUsed}). */
  private static Instant lastUsed(Path p) {
    try {
      FileTime dir = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
      FileTime manifest = Files.getLastModifiedTime(p.resolve(Snapshots.MANIFEST), LinkOption.NOFOLLOW_LINKS);
      return dir.compareTo(manifest) > 0 ? dir.toInstant() : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static Instant modified(Path p) {
    try {
      return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant();
    } catch (IOException e) {
      return Instant.EPOCH;
    }
  }

  /** The bytes the files of {@code dir} hold on disk (allocated, not apparent: the RAM file is sparse). */
  private static long allocatedBytes(Path dir) {
    long total = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path f : ds) {
        if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          total += SparseFiles.allocatedBytes(f);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      log.debug("cannot measure template {}: {}", dir, e.toString());
    }
    return total;
  }

  /** Whether a warm start's failure {@code e} came from its template (then it starts cold). */
  static boolean templateFailed(MicroPodException e) {
    return e instanceof SnapshotException
        || e.phase().filter(p -> p == Phase.RESTORE || p == Phase.AGENT_CONNECT).isPresent();
  }

  /** Removes the template of {@code plan}, which {@code why} says cannot be restored. */
  static void discard(Plan plan, String podId, Exception why) {
    log.warn("pod {}: warm-start template {} cannot be restored ({}): removed, the pod starts cold and makes"
        + " it again", podId, plan.template(), why.getMessage());
    try {
      Snapshots.removeDir(plan.template());
    } catch (RuntimeException e) {
      log.warn("pod {}: cannot remove template {}: {}", podId, plan.template(), e.toString());
    }
  }

  /**
   * The steps of the cold start that makes the template: {@code template.write} between the
   * agent's first answer and the container's creation.
   */
  static List<BootStep<Boot>> coldSteps(Plan plan) {
    List<BootStep<Boot>> steps = new ArrayList<>(PodStarter.steps());
    steps.add(steps.indexOf(PodStarter.CONTAINER_CREATE),
        BootStep.of("template.write", Phase.SNAPSHOT, (b, cleanup) -> write(b, plan)));
    return List.copyOf(steps);
  }

  /**
   * Snapshots the guest, whose agent serves and which has no container yet, into the template.
   * Never fails the pod: a template that cannot be written (full disk, another JVM wrote it first)
   * is only logged, and a later start tries again.
   */
  static void write(Boot b, Plan plan) {
    long started = System.nanoTime();
    try {
      Snapshots.take(b, plan.key(), plan.template().getParent(), "");
      log.info("pod {}: warm-start template {} written in {} ms", b.id, plan.template(),
          (System.nanoTime() - started) / 1_000_000);
    } catch (RuntimeException e) {
      if (Files.isDirectory(plan.template())) {
        log.debug("pod {}: another start wrote template {} first", b.id, plan.template());
      } else {
        log.warn("pod {}: no warm-start template kept ({}); the pod starts on, a later start tries again",
            b.id, e.getMessage());
      }
    }
  }
}
