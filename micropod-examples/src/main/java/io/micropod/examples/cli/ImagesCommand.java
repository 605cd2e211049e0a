package io.micropod.examples.cli;

import io.micropod.ImageInfo;
import io.micropod.ImageRef;
import io.micropod.MicroPodRuntime;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code micropod images}: the local store's images as a table, like {@code docker images}. */
@Command(name = "images", description = "List the images in the local store.", usageHelpAutoWidth = true)
final class ImagesCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--no-trunc", description = "Show whole digests.")
  boolean noTrunc;

  @Option(names = {"-q", "--quiet"}, description = "Only references, one a line.")
  boolean quiet;

  @Override
  public Integer call() {
    List<ImageInfo> images;
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().build()) {
      images = runtime.images();
    }
    PrintWriter out = main.spec.commandLine().getOut();
    if (quiet) {
      images.forEach(i -> out.println(i.ref()));
    } else {
      out.print(table(images, Instant.now(), noTrunc));
    }
    out.flush();
    return 0;
  }

  /** The table: REPOSITORY, TAG, DIGEST (12 hex digits unless {@code full}), SIZE, CREATED. */
  static String table(List<ImageInfo> images, Instant now, boolean full) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"REPOSITORY", "TAG", "DIGEST", "SIZE", "CREATED"});
    for (ImageInfo i : images) {
      String[] repoTag = repositoryAndTag(i.ref());
      String digest = i.digest();
      if (!full) {
        int colon = digest.indexOf(':');
        digest = digest.substring(colon + 1, Math.min(digest.length(), colon + 13));
      }
      rows.add(new String[] {repoTag[0], repoTag[1], digest, Units.bytes(i.sizeBytes()), Units.ago(i.created(), now)});
    }
    return Table.format(rows);
  }

  /** Docker's short form: {@code alpine} for {@code docker.io/library/alpine}; {@code <none>} without a tag. */
  static String[] repositoryAndTag(String normalised) {
    ImageRef ref;
    try {
      ref = ImageRef.parse(normalised);
    } catch (IllegalArgumentException e) {
      return new String[] {normalised, "<none>"};
    }
    String tag = ref.tag().orElse("<none>");
    String repository;
    if (ref.isRegistry()) {
      repository = ref.registry().orElseThrow() + "/" + ref.repository().orElseThrow();
      if (repository.startsWith(ImageRef.DEFAULT_REGISTRY + "/library/")) {
        repository = repository.substring(ImageRef.DEFAULT_REGISTRY.length() + "/library/".length());
      } else if (repository.startsWith(ImageRef.DEFAULT_REGISTRY + "/")) {
        repository = repository.substring(ImageRef.DEFAULT_REGISTRY.length() + 1);
      }
    } else if (ref.isOciLayout()) {
      repository = "oci:" + ref.layoutDir().orElseThrow();
    } else {
      repository = ref.archiveKind().orElseThrow() + ":" + ref.archive().orElseThrow();
    }
    return new String[] {repository, tag};
  }
}
