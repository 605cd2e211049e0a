package io.micropod.internal.base;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Pod ids: 12 random hex characters (48 bits). */
public final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Ids() {}

  public static String newPodId() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
