package io.micropod.examples;

import java.nio.file.Path;

/** Test access to the examples' sample image paths. */
public final class HelloAccess {
  public static Path busyboxLayout() {
    return Hello.Samples.busyboxLayout();
  }

  public static Path home() {
    return Hello.Samples.busyboxLayout().getParent().getParent();
  }

  private HelloAccess() {}
}
