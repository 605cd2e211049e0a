package io.micropod.internal.image;

import io.micropod.internal.files.FileLocks;
import io.micropod.internal.files.FileTrees;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micropod.ImageException;
import io.micropod.ImageInfo;
import io.micropod.ImageRef;
import io.micropod.PullPolicy;
import io.micropod.internal.registry.RegistryClient;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves image references to a {@link ResolvedImage} whose layers are local files: pulls
 * registry images into the {@link BlobStore} (manifest, platform selection from an index,
 * config, layers in parallel), reads OCI layouts and archives, keeps the {@link ImageCatalog},
 * lists, removes and garbage-collects images. Thread-safe; one per runtime.
 */
public final class ImageService {
  private static final Logger log = LoggerFactory.getLogger(ImageService.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Layers downloaded at once per pull. */
  static final int PARALLEL_DOWNLOADS = 3;
  private static final long PROGRESS_STEP = 64 * 1024;

  /** Bytes downloaded so far out of the total that needs downloading. */
  @FunctionalInterface
  public interface Progress {
    Progress NONE = (done, total) -> { };

    void update(long done, long total);
  }

  private final Path home;
  private final RegistryClient client;
  private final BlobStore blobs;
  private final ImageCatalog catalog;
  private final ImageArchives archives;
  private final ConcurrentHashMap<String, AtomicInteger> treesInUse = new ConcurrentHashMap<>();

  public ImageService(Path home, RegistryClient client) {
    this.home = home;
    this.client = client;
    this.blobs = new BlobStore(home);
    this.catalog = new ImageCatalog(home);
    this.archives = new ImageArchives(home);
  }

  /** Releases the registry client's pooled connections. */
  public void close() {
    client.close();
  }

  public BlobStore blobs() {
    return blobs;
  }

  public ImageCatalog catalog() {
    return catalog;
  }

  /**
   * Resolves {@code ref} for {@code platform}, pulling per {@code policy}.
   *
   * @param threadName prefix of the download threads' names, e.g. {@code micropod-<podId>-pull-}
   * @throws ImageException (or a subtype) when it cannot
   */
  public ResolvedImage resolve(ImageRef ref, String platform, PullPolicy policy, Progress progress,
      String threadName) throws IOException, InterruptedException {
    ResolvedImage image;
    if (ref.isOciLayout()) {
      image = OciLayout.resolve(ref, platform);
    } else if (ref.isArchive()) {
      image = archives.resolve(ref, platform);
    } else {
      return resolveRegistry(ref, platform, policy, progress, threadName);
    }
    long size = image.layers().stream().mapToLong(l -> Math.max(0, l.size())).sum();
    catalog.put(new ImageCatalog.Entry(ref.toString(), platform, image.manifestDigest(), null, null,
        List.of(), size, image.created(), false));
    return image;
  }

  private ResolvedImage resolveRegistry(ImageRef ref, String platform, PullPolicy policy, Progress progress,
      String threadName) throws IOException, InterruptedException {
    String name = ref.toString();
    if (policy != PullPolicy.ALWAYS) {
      Optional<ImageCatalog.Entry> entry = catalog.get(name, platform);
      if (entry.isPresent() && entry.get().registry()) {
        Optional<ResolvedImage> cached = fromStore(ref, entry.get().manifestDigest(), platform);
        if (cached.isPresent()) {
          log.debug("{} ({}) is in the store: {}", name, platform, entry.get().manifestDigest());
          return cached.get();
        }
      }
      if (ref.digest().isPresent() && ref.digest().get().startsWith("sha256:")
          && blobs.has(ref.digest().get())) {
        Optional<ResolvedImage> cached = fromStore(ref, ref.digest().get(), platform);
        if (cached.isPresent()) {
          record(ref, platform, cached.get(), null);
          return cached.get();
        }
      }
      if (policy == PullPolicy.NEVER) {
        throw new ImageException(name, name + " (" + platform + ") is not in the local store "
            + home.resolve("store") + " and the pull policy is NEVER: pull it first (PullPolicy.IF_MISSING)");
      }
    }
    return pull(ref, platform, progress, threadName);
  }

  /** Builds the image from the store alone, when every blob is there. */
  private Optional<ResolvedImage> fromStore(ImageRef ref, String digest, String platform) throws IOException {
    String name = ref.toString();
    if (!blobs.has(digest)) {
      return Optional.empty();
    }
    JsonNode m = JSON.readTree(blobs.read(name, digest));
    String manifestDigest = digest;
    if (isIndex(m)) {
      manifestDigest = Platforms.select(name, m, platform).path("digest").asText();
      if (!manifestDigest.startsWith("sha256:") || !blobs.has(manifestDigest)) {
        return Optional.empty();
      }
      m = JSON.readTree(blobs.read(name, manifestDigest));
    }
    String configDigest = m.path("config").path("digest").asText("");
    if (!configDigest.startsWith("sha256:") || !blobs.has(configDigest)) {
      return Optional.empty();
    }
    List<Layer> layers = new ArrayList<>();
    for (JsonNode l : m.path("layers")) {
      String d = l.path("digest").asText("");
      if (!d.startsWith("sha256:") || !blobs.has(d)) {
        return Optional.empty();
      }
      layers.add(new Layer(d, l.path("mediaType").asText(""), l.path("size").asLong(), blobs.path(d)));
    }
    JsonNode config = JSON.readTree(blobs.read(name, configDigest));
    return Optional.of(new ResolvedImage(ref, manifestDigest, OciLayout.parseConfig(config), layers,
        config.path("created").asText("")));
  }

  private static boolean isIndex(JsonNode m) {
    String mt = m.path("mediaType").asText("");
    return mt.equals(RegistryClient.OCI_INDEX) || mt.equals(RegistryClient.DOCKER_LIST)
        || (mt.isEmpty() && m.has("manifests") && !m.has("layers"));
  }

  private ResolvedImage pull(ImageRef ref, String platform, Progress progress, String threadName)
      throws IOException, InterruptedException {
    String name = ref.toString();
    String registry = ref.registry().orElseThrow();
    String repo = ref.repository().orElseThrow();
    long started = System.nanoTime();
    String reference = ref.digest().orElseGet(() -> ref.tag().orElse(ImageRef.DEFAULT_TAG));
    RegistryClient.Manifest top = client.manifest(name, registry, repo, reference);
    String indexDigest = null;
    RegistryClient.Manifest manifest = top;
    JsonNode m = JSON.readTree(top.body());
    if (isIndex(m)) {
      indexDigest = top.digest();
      blobs.put(top.digest(), top.body());
      JsonNode chosen = Platforms.select(name, m, platform);
      String childDigest = chosen.path("digest").asText("");
      if (!childDigest.matches("sha256:[a-f0-9]{64}")) {
        throw new ImageException(name, "the image index of " + name + " names an unsupported digest \""
            + childDigest + "\"");
      }
      manifest = client.manifest(name, registry, repo, childDigest);
      m = JSON.readTree(manifest.body());
      if (isIndex(m)) {
        throw new ImageException(name, "the image index of " + name + " points at another index; not supported");
      }
    }
    String mt = manifest.mediaType();
    if (mt.startsWith("application/vnd.docker.distribution.manifest.v1")) {
      throw new ImageException(name, name + " has a Docker schema 1 manifest, which registries deprecated in 2019"
          + " and MicroPod does not read: push the image again with a current Docker or skopeo");
    }
    if (!m.path("config").isObject() || !m.path("layers").isArray()) {
      throw new ImageException(name, "the manifest of " + name + " (" + mt + ") has no config or layers");
    }
    blobs.put(manifest.digest(), manifest.body());
    JsonNode configDesc = m.path("config");
    String configDigest = checkedDigest(name, configDesc);
    long configSize = checkedSize(name, configDesc);
    List<JsonNode> layerDescs = new ArrayList<>();
    m.path("layers").forEach(layerDescs::add);
    for (JsonNode l : layerDescs) {
      checkedDigest(name, l);
      checkedSize(name, l);
      String lmt = l.path("mediaType").asText("");
      if (lmt.contains("encrypted")) {
        throw new ImageException(name, "layer " + l.path("digest").asText() + " of " + name
            + " is encrypted (" + lmt + "); MicroPod cannot decrypt layers");
      }
    }
    // what needs downloading, for progress
    long total = 0;
    Set<String> counted = new HashSet<>();
    if (!blobs.has(configDigest) && counted.add(configDigest)) {
      total += configSize;
    }
    for (JsonNode l : layerDescs) {
      String d = l.path("digest").asText();
      if (!blobs.has(d) && counted.add(d)) {
        total += l.path("size").asLong();
      }
    }
    AtomicLong done = new AtomicLong();
    AtomicLong reported = new AtomicLong();
    long totalBytes = total;
    java.util.function.LongConsumer onBytes = n -> {
      long now = done.addAndGet(n);
      long last = reported.get();
      if ((now - last >= PROGRESS_STEP || now == totalBytes) && reported.compareAndSet(last, now)) {
        progress.update(now, totalBytes);
      }
    };
    if (total > 0) {
      progress.update(0, total);
    }
    fetchBlob(name, registry, repo, configDigest, configSize, onBytes);
    JsonNode config = JSON.readTree(blobs.read(name, configDigest));
    List<Layer> layers = new ArrayList<>();
    for (JsonNode l : layerDescs) {
      String d = l.path("digest").asText();
      layers.add(new Layer(d, l.path("mediaType").asText(""), l.path("size").asLong(), blobs.path(d)));
    }
    fetchLayers(name, registry, repo, layers, onBytes, threadName);
    ResolvedImage image = new ResolvedImage(ref, manifest.digest(), OciLayout.parseConfig(config), layers,
        config.path("created").asText(""));
    record(ref, platform, image, indexDigest);
    log.info("pulled {} ({}, {}) in {} ms: {} bytes downloaded", name, platform, manifest.digest(),
        (System.nanoTime() - started) / 1_000_000, done.get());
    return image;
  }

  private void record(ImageRef ref, String platform, ResolvedImage image, String indexDigest) throws IOException {
    String configDigest;
    JsonNode m = JSON.readTree(blobs.read(ref.toString(), image.manifestDigest()));
    configDigest = m.path("config").path("digest").asText();
    long size = m.path("config").path("size").asLong();
    List<String> layerDigests = new ArrayList<>();
    for (Layer l : image.layers()) {
      layerDigests.add(l.digest());
      size += l.size();
    }
    catalog.put(new ImageCatalog.Entry(ref.toString(), platform, image.manifestDigest(), indexDigest,
        configDigest, layerDigests, size, image.created(), true));
  }

  private void fetchLayers(String name, String registry, String repo, List<Layer> layers,
      java.util.function.LongConsumer onBytes, String threadName) throws IOException, InterruptedException {
    List<Layer> todo = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Layer l : layers) {
      if (seen.add(l.digest()) && !blobs.has(l.digest())) {
        todo.add(l);
      }
    }
    if (todo.isEmpty()) {
      return;
    }
    if (todo.size() == 1) {
      fetchBlob(name, registry, repo, todo.get(0).digest(), todo.get(0).size(), onBytes);
      return;
    }
    AtomicInteger n = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(PARALLEL_DOWNLOADS, todo.size()), r -> {
      Thread t = new Thread(r, threadName + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (Layer l : todo) {
        futures.add(pool.submit(() -> {
          fetchBlob(name, registry, repo, l.digest(), l.size(), onBytes);
          return null;
        }));
      }
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof RuntimeException re) {
            throw re;
          }
          if (c instanceof IOException io) {
            throw io;
          }
          if (c instanceof InterruptedException ie) {
            throw ie;
          }
          if (c instanceof Error err) {
            throw err;
          }
          throw new IOException(c);
        }
      }
    } finally {
      pool.shutdownNow();
      // a failed pull returns only once its sibling downloads stopped writing into the store:
      // the caller may delete or reuse the home at once (RegistryPullIT's temp home once could
      // not be deleted while another layer was still being written)
      if (!pool.awaitTermination(SIBLING_STOP.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        log.warn("{}: a layer download still runs {} after the pull failed", name, SIBLING_STOP);
      }
    }
  }

  /** How long a failed pull waits for its other layer downloads to stop. */
  private static final java.time.Duration SIBLING_STOP = java.time.Duration.ofSeconds(30);

  private void fetchBlob(String name, String registry, String repo, String digest, long size,
      java.util.function.LongConsumer onBytes) throws IOException, InterruptedException {
    blobs.ensure(digest, size, partial -> client.blob(name, registry, repo, digest, size, partial, onBytes));
  }

  private static String checkedDigest(String name, JsonNode desc) {
    String d = desc.path("digest").asText("");
    if (!d.matches("sha256:[a-f0-9]{64}")) {
      throw new ImageException(name, "the manifest of " + name + " has an invalid or unsupported digest \"" + d
          + "\" (MicroPod verifies sha256)");
    }
    return d;
  }

  private static long checkedSize(String name, JsonNode desc) {
    long size = desc.path("size").asLong(-1);
    if (!desc.path("size").canConvertToLong() || size < 0) {
      throw new ImageException(name, "the manifest of " + name + " gives no valid size for "
          + desc.path("digest").asText());
    }
    return size;
  }

  /** Marks the unpacked tree of {@code manifestHex} as used by a pod of this runtime. */
  public AutoCloseable useTree(String manifestHex) {
    treesInUse.computeIfAbsent(manifestHex, k -> new AtomicInteger()).incrementAndGet();
    return () -> treesInUse.computeIfPresent(manifestHex, (k, v) -> v.decrementAndGet() <= 0 ? null : v);
  }

  /** The cached images, sorted by reference. */
  public List<ImageInfo> list() throws IOException {
    List<ImageInfo> out = new ArrayList<>();
    for (ImageCatalog.Entry e : catalog.list()) {
      out.add(new ImageInfo(e.ref(), e.manifestDigest(), e.platform(), e.size(), created(e)));
    }
    return out;
  }

  private Instant created(ImageCatalog.Entry e) {
    try {
      if (e.created() != null && !e.created().isEmpty()) {
        return Instant.parse(e.created());
      }
    } catch (DateTimeParseException ex) {
      // fall through
    }
    return Instant.EPOCH;
  }

  /**
   * Forgets {@code ref} (every platform) and deletes its unpacked tree unless another image or a
   * running pod of this runtime uses it. Blobs stay until {@link #prune()}.
   *
   * @return whether the store held {@code ref}
   */
  public boolean remove(String ref) throws IOException {
    List<ImageCatalog.Entry> removed = catalog.remove(ref);
    Set<String> stillUsed = new HashSet<>();
    for (ImageCatalog.Entry e : catalog.list()) {
      stillUsed.add(e.manifestDigest());
    }
    for (ImageCatalog.Entry e : removed) {
      if (!stillUsed.contains(e.manifestDigest())) {
        deleteTree(e.manifestDigest().substring(e.manifestDigest().indexOf(':') + 1));
      }
    }
    return !removed.isEmpty();
  }

  /**
   * Deletes blobs no cached image needs, unpacked trees of no cached image (unless a pod of this
   * runtime uses them), extracted archives, and partial downloads. Pods of other processes that
   * run an image removed from the catalog can lose their tree: remove images, then prune, when
   * none runs.
   *
   * @return bytes of blobs freed
   */
  public long prune() throws IOException, InterruptedException {
    Set<String> keepBlobs = new HashSet<>();
    Set<String> keepTrees = new HashSet<>(treesInUse.keySet());
    for (ImageCatalog.Entry e : catalog.list()) {
      keepBlobs.addAll(e.blobs());
      keepTrees.add(e.manifestDigest().substring(e.manifestDigest().indexOf(':') + 1));
    }
    long freed = 0;
    for (String d : blobs.list()) {
      if (!keepBlobs.contains(d)) {
        freed += blobs.delete(d);
      }
    }
    Path rootfs = home.resolve("store").resolve("rootfs");
    if (Files.isDirectory(rootfs)) {
      List<Path> victims = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(rootfs)) {
        for (Path p : ds) {
          String n = p.getFileName().toString();
          if (!n.startsWith(".") && !keepTrees.contains(n)) {
            victims.add(p);
          }
        }
      }
      for (Path p : victims) {
        deleteTree(p.getFileName().toString());
      }
    }
    archives.clear();
    // what a killed JVM left: stale .put-*.tmp blobs and unlocked .tmp- unpack trees
    blobs.removeStaleTemporaries(BlobStore.STALE_PUT_MILLIS);
    new RootfsStore(home, false).open();
    log.info("pruned the image store {}: {} bytes of blobs freed", home.resolve("store"), freed);
    return freed;
  }

  private void deleteTree(String hex) throws IOException {
    if (treesInUse.containsKey(hex)) {
      return;
    }
    Path tree = home.resolve("store").resolve("rootfs").resolve(hex);
    try (FileLocks.Held lock = FileLocks.lock(home.resolve("store").resolve("locks").resolve(hex + ".lock"))) {
      FileTrees.deleteTree(tree);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while deleting " + tree, e);
    }
  }
}
