package io.micropod.internal.base;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The SDK's Maven version, from a resource the build filters. Selects the guest image. */
public final class SdkVersion {
  private static final String RESOURCE = "/io/micropod/internal/micropod-sdk.properties";
  private static final String VERSION = load();

  private SdkVersion() {}

  public static String get() {
    return VERSION;
  }

  private static String load() {
    try (InputStream in = SdkVersion.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + RESOURCE);
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "").trim();
      if (v.isEmpty() || v.startsWith("${")) {
        throw new IllegalStateException("resource " + RESOURCE + " was not filtered: " + v);
      }
      return v;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
