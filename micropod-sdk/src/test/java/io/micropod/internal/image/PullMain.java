package io.micropod.internal.image;

import io.micropod.ImageRef;
import io.micropod.PullPolicy;
import io.micropod.internal.registry.DockerCredentials;
import io.micropod.internal.registry.RegistryClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A second JVM for {@code RegistryPullIT}: {@code PullMain <home> <ref> <ready-file> <go-file>}
 * writes the ready file, waits for the go file, pulls and unpacks {@code ref} into {@code home},
 * and prints the manifest digest.
 */
public final class PullMain {
  private PullMain() {}

  public static void main(String[] args) throws Exception {
    Path home = Path.of(args[0]);
    ImageService s = new ImageService(home, new RegistryClient(RegistryClient.defaultHttpClient(),
        new DockerCredentials(Map.of(), home), Set.of()));
    Files.createFile(Path.of(args[2]));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(Path.of(args[3])) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    ResolvedImage r = s.resolve(ImageRef.parse(args[1]), "linux/amd64", PullPolicy.IF_MISSING,
        ImageService.Progress.NONE, "child-");
    new RootfsStore(home, false).prepare(r);
    System.out.println(r.manifestDigest());
  }
}
