package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Compiles a guest helper (rootfs-builder/guest/NAME.c) for tests, as build-guest.sh does. */
public final class GuestC {
  private GuestC() {}

  /**
   * Compiles {@code name}.c to {@code out}/{@code name}. Fails (no skip) without gcc: the guest
   * image cannot be built without it either.
   */
  public static Path compile(String name, Path out) throws Exception {
    Path gcc = Path.of("/usr/bin/gcc");
    assertThat(Files.isExecutable(gcc))
        .as("gcc (/usr/bin/gcc) compiles rootfs-builder/guest/" + name + ".c for this test and for"
            + " the guest image; install gcc and libc6-dev (bin/setup-host does)")
        .isTrue();
    Path binary = out.resolve(name);
    Process p = new ProcessBuilder(gcc.toString(), "-std=gnu11", "-O2", "-Wall", "-Wextra",
        "-Werror", "-static", "-o", binary.toString(),
        Path.of("../rootfs-builder/guest/" + name + ".c").toAbsolutePath().normalize().toString())
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("gcc finished in 60 s").isTrue();
    assertThat(p.exitValue()).as(output).isZero();
    return binary;
  }
}
