package io.micropod.agent.base;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;

/**
 * What GetInfo reports: agent version, kernel release, runtime version and boot timings.
 * Everything but the two agent timestamps is read on first use, off the start path; the runtime
 * version ({@code runc --version}) is looked up in the background once the agent serves, and is
 * empty until known. Thread-safe.
 */
public final class GuestInfo {
  static final Path OSRELEASE = Path.of("/proc/sys/kernel/osrelease");

  private final long agentMainMs;
  private final Path initStartedFile;
  private volatile long agentReadyMs;
  private volatile long initStartedMs = -1;
  private volatile String kernelRelease;
  private volatile String agentVersion;
  private final CompletableFuture<String> runtimeVersion = new CompletableFuture<>();

  /**
   * @param agentMainMs guest uptime when main() began
   * @param initStartedFile where /init wrote its start time (guest uptime ms)
   */
  public GuestInfo(long agentMainMs, Path initStartedFile) {
    this.agentMainMs = agentMainMs;
    this.initStartedFile = initStartedFile;
  }

  /** Records the guest uptime at which the agent began serving. */
  public void ready(long uptimeMs) {
    this.agentReadyMs = uptimeMs;
  }

  /** Looks the runtime version up on {@code executor}; failures give an empty version. */
  public void lookUpRuntimeVersion(Callable<String> lookup, Executor executor) {
    executor.execute(
        () -> {
          try {
            runtimeVersion.complete(lookup.call());
          } catch (Exception e) {
            Log.debug("runtime version unknown: " + e.getMessage());
            runtimeVersion.complete("");
          }
        });
  }

  public long agentMainMs() {
    return agentMainMs;
  }

  public long agentReadyMs() {
    return agentReadyMs;
  }

  /** The runtime's first {@code --version} line; empty while unknown. */
  public String runtimeVersion() {
    return runtimeVersion.getNow("");
  }

  /** Completes once the runtime version lookup is done (for tests and training). */
  public CompletableFuture<String> runtimeVersionFuture() {
    return runtimeVersion;
  }

  /** /init's start in guest uptime ms, or 0 when the file is absent or unreadable. */
  public long initStartedMs() {
    long v = initStartedMs;
    if (v < 0) {
      v = readLong(initStartedFile);
      initStartedMs = v;
    }
    return v;
  }

  public String kernelRelease() {
    String v = kernelRelease;
    if (v == null) {
      v = readText(OSRELEASE);
      kernelRelease = v;
    }
    return v;
  }

  /** The agent's Maven version, from the jar's {@code agent.properties}. */
  public String agentVersion() {
    String v = agentVersion;
    if (v == null) {
      v = "unknown";
      try (InputStream in = GuestInfo.class.getResourceAsStream("/io/micropod/agent/agent.properties")) {
        if (in != null) {
          Properties p = new Properties();
          p.load(in);
          v = p.getProperty("version", v);
        }
      } catch (IOException e) {
        Log.debug("agent.properties: " + e.getMessage());
      }
      agentVersion = v;
    }
    return v;
  }

  private static long readLong(Path file) {
    String text = readText(file);
    try {
      return text.isEmpty() ? 0 : Long.parseLong(text);
    } catch (NumberFormatException e) {
      try {
        return Math.round(Double.parseDouble(text)); // tolerate "1234.5" (still milliseconds)
      } catch (NumberFormatException notANumber) {
        return 0;
      }
    }
  }

  private static String readText(Path file) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      return "";
    }
  }
}
