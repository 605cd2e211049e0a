package io.micropod.examples.cli;

import io.micropod.ImageInfo;
import io.micropod.ImageRef;
import io.micropod.MicroPodRuntime;
import io.micropod.MicroPodSpec;
import io.micropod.PullPolicy;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod pull IMAGE}: asks the registry for the image's manifest (as {@code docker pull},
 * always) and downloads the blobs the local store lacks, with a progress bar on a terminal and
 * plain lines otherwise, both on stderr. Stdout gets the digest, the status and the reference.
 */
@Command(name = "pull", description = "Pull an image from a registry into the local store.",
    usageHelpAutoWidth = true)
final class PullCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--platform", paramLabel = "OS/ARCH",
      description = "The platform to pull from a multi-platform image; default ${DEFAULT-VALUE}.")
  String platform = MicroPodSpec.DEFAULT_PLATFORM;

  @Mixin
  RegistryOptions registry;

  @Parameters(index = "0", paramLabel = "IMAGE", description = "A registry reference, e.g. alpine:3.20 or 127.0.0.1:5000/app:1.")
  String image;

  @Override
  public Integer call() {
    ImageRef ref = RunCommand.parseImage(image);
    if (!ref.isRegistry()) {
      throw new IllegalArgumentException("pull takes a registry reference, not " + image
          + " (local layouts and archives are read where they are: `micropod run " + image + "`)");
    }
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    ImageInfo info;
    boolean downloaded;
    try (MicroPodRuntime runtime = registry.runtime(main.env);
         PullProgress progress = new PullProgress(err, main.terminal(), ref.toString())) {
      info = runtime.pullImage(ref, platform, PullPolicy.ALWAYS, progress);
      downloaded = progress.downloaded();
    }
    out.println("Digest: " + info.digest());
    out.println("Status: " + (downloaded ? "Downloaded newer image for " : "Image is up to date for ") + info.ref());
    out.println(info.ref());
    out.flush();
    return 0;
  }
}
