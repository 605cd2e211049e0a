package io.micropod.internal.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which references the store holds: one JSON record per (reference, platform) in
 * {@code <home>/store/images/<sha256(ref \n platform)>.json}, written to a temporary file and
 * renamed atomically. A record keeps its manifest, config and layer blobs (and the unpacked
 * tree of its manifest) from garbage collection. Thread-safe (each operation is one file).
 */
public final class ImageCatalog {
  private static final Logger log = LoggerFactory.getLogger(ImageCatalog.class);
  private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

  /** One cached image. Blob digests are those kept from garbage collection. */
  public record Entry(
      String ref,
      String platform,
      String manifestDigest,
      String indexDigest,
      String configDigest,
      List<String> layers,
      long size,
      String created,
      boolean registry) {

    public Entry {
      layers = layers == null ? List.of() : List.copyOf(layers);
    }

    /** Every blob of the store this image needs. */
    public List<String> blobs() {
      List<String> out = new ArrayList<>();
      if (!registry) {
        return out;
      }
      out.add(manifestDigest);
      if (indexDigest != null) {
        out.add(indexDigest);
      }
      out.add(configDigest);
      out.addAll(layers);
      return out;
    }
  }

  private final Path dir;

  public ImageCatalog(Path home) {
    this.dir = home.resolve("store").resolve("images");
  }

  private Path fileOf(String ref, String platform) {
    byte[] key = (ref + "\n" + platform).getBytes(StandardCharsets.UTF_8);
    return dir.resolve(HexFormat.of().formatHex(OciLayout.messageDigest("sha256").digest(key)) + ".json");
  }

  public Optional<Entry> get(String ref, String platform) {
    Path f = fileOf(ref, platform);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(f.toFile(), Entry.class));
    } catch (IOException e) {
      log.warn("ignoring the unreadable image record {}: {}", f, e.toString());
      return Optional.empty();
    }
  }

  public void put(Entry e) throws IOException {
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".rec-", ".tmp");
    try {
      JSON.writeValue(tmp.toFile(), e);
      Files.move(tmp, fileOf(e.ref(), e.platform()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  public List<Entry> list() throws IOException {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      for (Path f : ds) {
        if (f.getFileName().toString().startsWith(".")) {
          continue;
        }
        try {
          out.add(JSON.readValue(f.toFile(), Entry.class));
        } catch (IOException e) {
          log.warn("ignoring the unreadable image record {}: {}", f, e.toString());
        }
      }
    }
    out.sort((a, b) -> (a.ref() + a.platform()).compareTo(b.ref() + b.platform()));
    return out;
  }

  /** Deletes the records of {@code ref} (every platform); returns them. */
  public List<Entry> remove(String ref) throws IOException {
    List<Entry> removed = new ArrayList<>();
    for (Entry e : list()) {
      if (e.ref().equals(ref)) {
        Files.deleteIfExists(fileOf(e.ref(), e.platform()));
        removed.add(e);
      }
    }
    return removed;
  }
}
