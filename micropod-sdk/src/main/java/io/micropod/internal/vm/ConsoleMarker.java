package io.micropod.internal.vm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the guest's fixed console lines (docs/internals/guest-contract.md, "Console"). */
public final class ConsoleMarker {
  /** The line {@code /init} prints first on every boot. */
  public static final String INIT_STARTED = "micropod-init: started";

  /** The kernel's early lines plus the marker fit here; a debug boot prints more, later. */
  private static final int SCAN_LIMIT = 1 << 20;

  private ConsoleMarker() {}

  /** Whether {@code marker} is among the first MiB of {@code console}; false when it is unreadable. */
  public static boolean seen(Path console, String marker) {
    try (InputStream in = Files.newInputStream(console)) {
      String head = new String(in.readNBytes(SCAN_LIMIT), StandardCharsets.ISO_8859_1);
      return head.contains(marker);
    } catch (IOException e) {
      return false;
    }
  }
}
