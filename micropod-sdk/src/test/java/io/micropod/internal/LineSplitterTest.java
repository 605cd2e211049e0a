package io.micropod.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LineSplitterTest {
  @Test
  void splitsAcrossChunksAndKeepsMultiByteCharactersWhole() {
    LineSplitter s = new LineSplitter();
    byte[] euro = "€".getBytes(UTF_8);

    assertThat(s.feed("a\nb".getBytes(UTF_8))).containsExactly("a");
    assertThat(s.feed(new byte[] {euro[0]})).isEmpty();
    assertThat(s.feed(new byte[] {euro[1], euro[2], '\r', '\n', 'c'})).containsExactly("b€");
    assertThat(s.rest()).isEqualTo("c");
    assertThat(s.rest()).isNull();
  }
}
