package io.micropod.internal.agent;

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

  @Test
  @org.junit.jupiter.api.Timeout(30)
  void anEndlessLineIsCutAtTheLimitWithTheMarkerAndHoldsBoundedMemory() {
    LineSplitter s = new LineSplitter(1024);
    byte[] chunk = "x".repeat(4000).getBytes(UTF_8);
    java.util.List<String> lines = new java.util.ArrayList<>();
    for (int i = 0; i < 10_000; i++) { // 40 MB without a newline
      lines.addAll(s.feed(chunk));
    }

    assertThat(lines).singleElement().isEqualTo("x".repeat(1024) + " "
        + io.micropod.internal.agent.AgentLimits.truncationMarker(1024));
    assertThat(s.rest()).isNull();
    assertThat(s.feed("\nnext\n".getBytes(UTF_8))).containsExactly("next");
  }

  @Test
  void aCutNeverSplitsAMultiByteCharacter() {
    LineSplitter s = new LineSplitter(4);
    assertThat(s.feed("ab€cd\n".getBytes(UTF_8))).singleElement().asString().startsWith("ab ");
  }

  @Test
  @org.junit.jupiter.api.Timeout(30)
  void aLogFollowerGivenAnEndlessLineDeliversItCutWithTheMarker() {
    java.util.List<io.micropod.LogLine> got = new java.util.ArrayList<>();
    LogFollowerCall f = new LogFollowerCall("pod1", got::add);
    com.google.protobuf.ByteString data = com.google.protobuf.ByteString.copyFromUtf8("y".repeat(32 << 10));
    for (int i = 0; i < 2_000; i++) { // 64 MiB, no newline
      f.onNext(io.micropod.agent.v1.LogChunk.newBuilder()
          .setStream(io.micropod.agent.v1.OutputStream.OUTPUT_STREAM_STDOUT).setData(data).build());
    }
    f.onCompleted();

    assertThat(got).singleElement().satisfies(l -> assertThat(l.text())
        .contains(io.micropod.internal.agent.AgentLimits.truncationMarker(
            io.micropod.internal.agent.AgentLimits.MAX_LINE_BYTES)));
  }
}
