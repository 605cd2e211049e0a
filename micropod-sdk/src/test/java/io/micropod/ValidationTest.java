package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A pod spec and an exec spec apply one rule to each input they share, with one message. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ValidationTest {
  private static MicroPodSpec.Builder pod() {
    return MicroPod.builder().image("oci:/tmp/none:latest");
  }

  private static ExecSpec.Builder exec() {
    return ExecSpec.builder("true");
  }

  /** Both builders throw the same message for {@code bad}, or both accept it. */
  private static void sameVerdict(Consumer<MicroPodSpec.Builder> onPod, Consumer<ExecSpec.Builder> onExec) {
    String podMessage = messageOf(() -> onPod.accept(pod()));
    String execMessage = messageOf(() -> onExec.accept(exec()));
    assertThat(execMessage).isEqualTo(podMessage);
  }

  private static String messageOf(Runnable r) {
    try {
      r.run();
      return "accepted";
    } catch (IllegalArgumentException | NullPointerException e) {
      return e.getMessage();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "A=B", "A\0", "PATH", "_x1"})
  void envKeys(String key) {
    sameVerdict(p -> p.env(key, "v"), e -> e.env(key, "v"));
  }

  @Test
  void envValueWithNul() {
    sameVerdict(p -> p.env("K", "a\0b"), e -> e.env("K", "a\0b"));
    assertThat(messageOf(() -> exec().env("K", "a\0b"))).isEqualTo("env value of K contains NUL");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "root", "1000", "1000:1000", "nobody:nogroup", "x\0", ":1", "a:b:c"})
  void users(String user) {
    sameVerdict(p -> p.user(user), e -> e.user(user));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "tmp", "/tmp", "/"})
  void workingDirs(String dir) {
    sameVerdict(p -> p.workingDir(dir), e -> e.workingDir(dir));
  }

  @Test
  void anArgvRuleIsTheSameForEntrypointAndExec() {
    for (List<String> argv : List.of(List.of(""), Arrays.asList("sh", null), List.of("sh", "-c", ""))) {
      String entrypoint = messageOf(() -> pod().entrypoint(argv.toArray(String[]::new)));
      String execArgv = messageOf(() -> ExecSpec.builder(argv));
      assertThat(execArgv.replace("argv", "entrypoint")).as("%s", argv).isEqualTo(entrypoint);
    }
    assertThatThrownBy(() -> ExecSpec.builder(List.of())).hasMessage("argv is empty");
    assertThat(pod().command(List.of()).build().command()).as("an empty command: the image's").isEmpty();
  }
}
