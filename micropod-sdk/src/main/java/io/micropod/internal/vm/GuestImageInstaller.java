package io.micropod.internal.vm;

import io.micropod.internal.files.FileLocks;
import io.micropod.internal.files.FileTrees;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacks the guest image shipped as a classpath resource (the {@code io.micropod:micropod-guest}
 * jar, classifier {@code linux-x86_64}) into {@code <home>/guest/<version>/} on first use.
 *
 * <p>The image is extracted into {@code <home>/guest/.install-<pid>-<random>}, every file is
 * checked against the embedded manifest's sha256 and size, synced, and the directory is renamed
 * into place, so a reader sees either no image or a complete one. An exclusive lock on
 * {@code <home>/guest/.install.lock} (plus an in-JVM lock, because file locks are per process)
 * serialises installers; whoever waits finds the image installed. Since installs only happen
 * under that lock, any {@code .install-*} directory seen while holding it belongs to a dead
 * install and is removed.
 */
public final class GuestImageInstaller {
  private static final Logger log = LoggerFactory.getLogger(GuestImageInstaller.class);

  public static final String PLATFORM = "linux-x86_64";
  public static final String RESOURCE_ROOT = "META-INF/micropod/guest/" + PLATFORM + "/";
  static final String MANIFEST = "manifest.json";
  static final String LOCK_FILE = ".install.lock";
  static final String TEMP_PREFIX = ".install-";

  private final ClassLoader loader;
  private final String sdkVersion;

  public GuestImageInstaller(ClassLoader loader, String sdkVersion) {
    this.loader = loader;
    this.sdkVersion = sdkVersion;
  }

  /** An installer that reads the image from the SDK's own class loader. */
  public static GuestImageInstaller forSdk(String sdkVersion) {
    return new GuestImageInstaller(GuestImageInstaller.class.getClassLoader(), sdkVersion);
  }

  /** Why the image could not be installed; the message says what to do. */
  public static final class InstallException extends Exception {
    private static final long serialVersionUID = 1L;

    InstallException(String message) {
      super(message);
    }
  }

  /** What {@link #ensureInstalled} did. */
  public enum Outcome { PRESENT, INSTALLED }

  /**
   * Installs the image into {@code guestDir} unless its manifest.json is there already; a problem
   * is added to {@code problems} instead of thrown (HostProbe reports everything at once).
   */
  public void installIfMissing(Path guestDir, List<String> problems) {
    try {
      ensureInstalled(guestDir);
    } catch (InstallException e) {
      problems.add(e.getMessage());
    }
  }

  /**
   * Installs the image into {@code guestDir} unless its manifest.json is there already.
   *
   * @throws InstallException when the resource is missing, corrupt, of another version, or the
   *     home cannot be written; nothing is installed then
   */
  public Outcome ensureInstalled(Path guestDir) throws InstallException {
    guestDir = guestDir.toAbsolutePath().normalize();
    if (Files.isRegularFile(guestDir.resolve(MANIFEST))) {
      return Outcome.PRESENT;
    }
    byte[] manifestBytes = readResource(MANIFEST);
    Map<String, Entry> files = parseManifest(manifestBytes);
    Path root = guestDir.getParent();
    try (FileLocks.Held lock = FileLocks.lock(root.resolve(LOCK_FILE))) {
      if (Files.isRegularFile(guestDir.resolve(MANIFEST))) {
        return Outcome.PRESENT; // another process installed it while we waited
      }
      removeLeftovers(root);
      install(guestDir, root, manifestBytes, files);
      return Outcome.INSTALLED;
    } catch (IOException e) {
      throw new InstallException("cannot install the guest image of SDK " + sdkVersion
          + " into " + guestDir + ": " + e + " (point micropod.home or MICROPOD_HOME at a "
          + "writable directory, or set MICROPOD_KERNEL_PATH and MICROPOD_AGENT_ROOTFS)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InstallException("interrupted while waiting for another JVM's install of the guest"
          + " image into " + guestDir);
    }
  }

  /**
   * The files of the guest image on the classpath, without installing anything ({@code micropod
   * doctor}: "installable").
   *
   * @throws InstallException when there is none, or it is corrupt or of another version
   */
  public List<String> availableFiles() throws InstallException {
    return List.copyOf(parseManifest(readResource(MANIFEST)).keySet());
  }

  /**
   * Checks the installed image in {@code guestDir} against its own manifest.json: every file listed
   * there must exist with that size and sha256. Reads the whole image (about 200 MB): for {@code
   * micropod doctor}, not for every start.
   *
   * @return one line per file that differs; empty when all match
   * @throws InstallException when manifest.json is missing or unreadable
   */
  public List<String> verify(Path guestDir) throws InstallException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(guestDir.resolve(MANIFEST));
    } catch (IOException e) {
      throw new InstallException("cannot read " + guestDir.resolve(MANIFEST) + ": " + e);
    }
    List<String> problems = new java.util.ArrayList<>();
    for (Map.Entry<String, Entry> f : parseManifest(bytes, false).entrySet()) {
      Path p = guestDir.resolve(f.getKey());
      if (!Files.isRegularFile(p)) {
        problems.add(f.getKey() + " is missing");
        continue;
      }
      MessageDigest sha = sha256();
      long size;
      try (InputStream in = new DigestInputStream(Files.newInputStream(p), sha)) {
        size = in.transferTo(OutputStream.nullOutputStream());
      } catch (IOException e) {
        problems.add(f.getKey() + " cannot be read: " + e);
        continue;
      }
      String actual = HexFormat.of().formatHex(sha.digest());
      if (size != f.getValue().size || !actual.equals(f.getValue().sha256)) {
        problems.add(f.getKey() + " has sha256 " + actual + " (" + size + " bytes), manifest.json says "
            + f.getValue().sha256 + " (" + f.getValue().size + " bytes)");
      }
    }
    return problems;
  }

  private void install(Path guestDir, Path root, byte[] manifestBytes, Map<String, Entry> files)
      throws IOException, InstallException {
    long started = System.nanoTime();
    Path temp = root.resolve(TEMP_PREFIX + ProcessHandle.current().pid() + "-"
        + Long.toUnsignedString(new SecureRandom().nextLong(), 36));
    Files.createDirectory(temp);
    boolean done = false;
    try {
      for (Map.Entry<String, Entry> f : files.entrySet()) {
        extract(f.getKey(), f.getValue(), temp);
      }
      Path manifest = temp.resolve(MANIFEST);
      Files.write(manifest, manifestBytes);
      fsync(manifest, false);
      for (String dir : subdirectories(temp)) {
        fsync(Path.of(dir), true);
      }
      fsync(temp, true);
      if (Files.exists(guestDir)) {
        // A directory without manifest.json: an incomplete image of an older tool; replace it.
        Path old = root.resolve(TEMP_PREFIX + "old-" + ProcessHandle.current().pid());
        Files.move(guestDir, old, StandardCopyOption.ATOMIC_MOVE);
        FileTrees.deleteTree(old);
      }
      Files.move(temp, guestDir, StandardCopyOption.ATOMIC_MOVE);
      fsync(root, true);
      done = true;
      log.info("installed the guest image of SDK {} into {} ({} files, {} ms)", sdkVersion,
          guestDir, files.size(), (System.nanoTime() - started) / 1_000_000);
    } finally {
      if (!done) {
        FileTrees.deleteTree(temp);
      }
    }
  }

  private void extract(String rel, Entry expected, Path temp) throws IOException, InstallException {
    Path target = temp.resolve(rel).normalize();
    Files.createDirectories(target.getParent());
    MessageDigest sha = sha256();
    long size;
    try (InputStream raw = loader.getResourceAsStream(RESOURCE_ROOT + rel)) {
      if (raw == null) {
        throw new InstallException("corrupt guest image resource " + RESOURCE_ROOT + ": " + rel
            + " is listed in its manifest.json but missing (nothing installed); "
            + artifactHint());
      }
      try (InputStream in = new DigestInputStream(raw, sha);
           OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
               StandardOpenOption.WRITE)) {
        size = in.transferTo(out);
      }
    }
    String actual = HexFormat.of().formatHex(sha.digest());
    if (size != expected.size || !actual.equals(expected.sha256)) {
      throw new InstallException("corrupt guest image resource " + RESOURCE_ROOT + rel
          + ": sha256 " + actual + " (" + size + " bytes), manifest.json says " + expected.sha256
          + " (" + expected.size + " bytes); nothing installed (rebuild or re-download "
          + artifact() + ")");
    }
    if (rel.startsWith("host/")) {
      // host helpers are programs the SDK runs; a jar keeps no file modes
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    fsync(target, false);
  }

  private Map<String, Entry> parseManifest(byte[] bytes) throws InstallException {
    return parseManifest(bytes, true);
  }

  /** @param checkVersion whether the manifest must be of this SDK's version (the resource's must) */
  private Map<String, Entry> parseManifest(byte[] bytes, boolean checkVersion) throws InstallException {
    JsonNode m;
    try {
      m = new ObjectMapper().readTree(bytes);
    } catch (IOException e) {
      throw new InstallException("corrupt guest image resource " + RESOURCE_ROOT + MANIFEST
          + ": " + e.getMessage());
    }
    String version = m.path("version").asText("");
    if (checkVersion && !version.equals(sdkVersion)) {
      throw new InstallException("the guest image on the classpath (" + RESOURCE_ROOT + MANIFEST
          + ") is of version " + version + " but the SDK is " + sdkVersion + ": depend on "
          + artifact() + " (the micropod-bom keeps them equal)");
    }
    JsonNode filesNode = m.path("files");
    if (!filesNode.isObject() || filesNode.isEmpty()) {
      throw new InstallException("corrupt guest image resource " + RESOURCE_ROOT + MANIFEST
          + ": no \"files\" map");
    }
    Map<String, Entry> files = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = filesNode.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String rel = f.getKey();
      // the manifest is ours, but a path must not leave the install directory whatever it says
      Path p = Path.of(rel).normalize();
      if (rel.isEmpty() || p.isAbsolute() || p.startsWith("..") || rel.equals(MANIFEST)
          || rel.contains("\\")) {
        throw new InstallException("corrupt guest image resource " + RESOURCE_ROOT + MANIFEST
            + ": bad file name " + rel);
      }
      String sha = f.getValue().path("sha256").asText("");
      long size = f.getValue().path("size").asLong(-1);
      if (!sha.matches("[0-9a-f]{64}") || size < 0) {
        throw new InstallException("corrupt guest image resource " + RESOURCE_ROOT + MANIFEST
            + ": bad sha256 or size for " + rel);
      }
      files.put(rel, new Entry(sha, size));
    }
    return files;
  }

  private byte[] readResource(String name) throws InstallException {
    try (InputStream in = loader.getResourceAsStream(RESOURCE_ROOT + name)) {
      if (in == null) {
        throw new InstallException("no guest image for SDK " + sdkVersion + " on the classpath ("
            + RESOURCE_ROOT + name + "): " + artifactHint());
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new InstallException("cannot read " + RESOURCE_ROOT + name + ": " + e);
    }
  }

  private String artifact() {
    return "io.micropod:micropod-guest:" + sdkVersion + ":" + PLATFORM;
  }

  private String artifactHint() {
    return "add the dependency " + artifact() + " (jar, classifier " + PLATFORM
        + "; io.micropod:micropod-bom manages it), or set MICROPOD_KERNEL_PATH and "
        + "MICROPOD_AGENT_ROOTFS";
  }

  private static void removeLeftovers(Path root) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, TEMP_PREFIX + "*")) {
      for (Path p : ds) {
        if (p.getFileName().toString().equals(LOCK_FILE)) {
          continue;
        }
        log.info("removing {}, left by an install that did not finish", p);
        FileTrees.deleteTree(p);
      }
    }
  }

  private static List<String> subdirectories(Path dir) throws IOException {
    try (var s = Files.walk(dir)) {
      return s.filter(Files::isDirectory).filter(p -> !p.equals(dir)).map(Path::toString).toList();
    }
  }

  private static void fsync(Path p, boolean directory) throws IOException {
    try (FileChannel ch = FileChannel.open(p, directory ? StandardOpenOption.READ
        : StandardOpenOption.WRITE)) {
      ch.force(true);
    } catch (IOException e) {
      if (!directory) {
        throw e;
      }
      // some file systems refuse to open directories for sync; the rename is still atomic
    }
  }


  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private record Entry(String sha256, long size) {}
}
