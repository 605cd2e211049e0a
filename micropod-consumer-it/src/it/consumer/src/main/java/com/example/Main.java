package com.example;

import io.micropod.MicroPod;

/** Runs one container in a microVM and prints its output. */
public final class Main {
  public static void main(String[] args) {
    String image = System.getProperty("micropod.it.image");
    try (MicroPod pod = MicroPod.builder().image(image)
        .command("sh", "-c", "echo consumer says hello").start()) {
      System.out.println("exit=" + pod.waitFor() + " output=" + pod.logs().strip());
    }
  }
}
