package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TerminalSizeTest {
  @Test
  void badSizesAreRefusedAtTheCallSite() {
    assertThatThrownBy(() -> ExecSpec.builder("sh").tty(0, 24))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("columns is not 1..65535: 0");
    assertThatThrownBy(() -> TerminalSize.of(80, 65536))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("rows is not 1..65535: 65536");
    assertThatThrownBy(() -> ExecSpec.builder("sh").tty(null))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void ttyIsOffByDefaultAndKeptWhenSet() {
    assertThat(ExecSpec.of("sh").tty()).isEmpty();
    ExecSpec spec = ExecSpec.builder("sh").tty(132, 50).build();
    assertThat(spec.tty()).contains(TerminalSize.of(132, 50));
    assertThat(spec.toString()).contains("tty=132x50");
    assertThat(TerminalSize.DEFAULT).isEqualTo(new TerminalSize(80, 24));
  }

  @Test
  void otherImplementationsSayTheyCannotResize() {
    ExecProcess fake = new ExecProcess() {
      @Override
      public java.io.OutputStream stdin() {
        return java.io.OutputStream.nullOutputStream();
      }

      @Override
      public ExecResult await() {
        return ExecResult.of(0, "", "");
      }

      @Override
      public java.util.Optional<ExecResult> await(java.time.Duration timeout) {
        return java.util.Optional.of(await());
      }
    };
    assertThatThrownBy(() -> fake.resize(80, 24)).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(fake::stdout).isInstanceOf(UnsupportedOperationException.class);
  }
}
