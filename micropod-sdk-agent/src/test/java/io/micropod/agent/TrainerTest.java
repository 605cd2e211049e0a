package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
  @Test
  void trainingRunsWithoutARuntimeAndLeavesNothingBehind(@TempDir Path dir) throws Exception {
    System.setProperty("micropod.train.runtime", dir.resolve("no-runc").toString());
    try {
      Trainer.train(dir);
    } finally {
      System.clearProperty("micropod.train.runtime");
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertThat(left).allMatch(p -> !p.getFileName().toString().endsWith(".sock"));
    }
  }
}
