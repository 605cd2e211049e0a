package io.micropod.agent.runtime;

import java.io.File;

/** Fixed paths of the guest. */
final class Paths {
  static final File DEV_NULL = new File("/dev/null");

  private Paths() {}
}
