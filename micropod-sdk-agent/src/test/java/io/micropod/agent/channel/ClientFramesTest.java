package io.micropod.agent.channel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ClientFramesTest {
  private static final byte[] PREFACE = ClientFrames.PREFACE;

  private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
  private final ClientFrames frames = new ClientFrames();

  private static byte[] frame(int type, byte[] payload) {
    byte[] f = new byte[9 + payload.length];
    f[0] = (byte) (payload.length >>> 16);
    f[1] = (byte) (payload.length >>> 8);
    f[2] = (byte) payload.length;
    f[3] = (byte) type;
    f[8] = 1;
    System.arraycopy(payload, 0, f, 9, payload.length);
    return f;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private int scan(byte[] data) {
    return frames.scan(data, 0, data.length, sent::write);
  }

  @Test
  void aPrefaceAtAFrameBoundaryAfterTheSessionsOwnIsANewHost() {
    byte[] old = concat(PREFACE, frame(4, new byte[0]), frame(0, new byte[100]));
    byte[] next = concat(PREFACE, frame(4, new byte[6]));
    byte[] stream = concat(old, next);

    int at = scan(stream);

    assertThat(at).isEqualTo(old.length + PREFACE.length);
    assertThat(sent.toByteArray()).isEqualTo(old);
  }

  @Test
  void aPrefaceInsideAFramePayloadIsData() {
    byte[] stream = concat(PREFACE, frame(0, concat(new byte[3], PREFACE, new byte[5])),
        frame(0, PREFACE));

    assertThat(scan(stream)).isEqualTo(-1);
    assertThat(sent.toByteArray()).isEqualTo(stream);
  }

  @Test
  void aNewHostsPrefaceSplitOverReadsIsFoundAndNeverSentToTheOldSession() {
    byte[] old = concat(PREFACE, frame(4, new byte[0]), frame(8, new byte[4]));
    byte[] stream = concat(old, PREFACE, frame(4, new byte[0]));
    int found = -1;
    int foundAt = -1;
    for (int i = 0; i < stream.length && found < 0; i++) {
      found = frames.scan(stream, i, 1, sent::write);
      foundAt = i;
    }
    assertThat(found).isEqualTo(old.length + PREFACE.length);
    assertThat(foundAt).isEqualTo(found - 1);
    assertThat(sent.toByteArray()).isEqualTo(old);
  }

  @Test
  void frameHeadersAndPayloadsSplitAnywhereAreFollowed() {
    byte[] stream = concat(PREFACE, frame(0, new byte[70_000]), frame(1, new byte[7]),
        frame(0, new byte[1]));
    for (int chunk : new int[] {1, 5, 9, 10, 4096}) {
      ClientFrames f = new ClientFrames();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int i = 0; i < stream.length; i += chunk) {
        assertThat(f.scan(stream, i, Math.min(chunk, stream.length - i), out::write)).isEqualTo(-1);
      }
      assertThat(out.toByteArray()).as("chunks of %d", chunk).isEqualTo(stream);
      assertThat(f.lost()).isFalse();
    }
  }

  @Test
  void aSessionThatDoesNotBeginWithAPrefaceIsPassedThroughUntracked() {
    byte[] text = "not http/2 at all".getBytes(StandardCharsets.US_ASCII);
    assertThat(scan(text)).isEqualTo(-1);
    assertThat(frames.lost()).isTrue();
    assertThat(scan(PREFACE)).isEqualTo(-1);
    assertThat(sent.toByteArray()).isEqualTo(concat(text, PREFACE));
  }

  @Test
  void findPrefaceSearchesEveryOffset() {
    byte[] data = concat(new byte[] {'P', 'R', 'I'}, PREFACE, new byte[] {1, 2});
    assertThat(ClientFrames.findPreface(data, 0, data.length)).isEqualTo(3 + PREFACE.length);
    assertThat(ClientFrames.findPreface(data, 4, data.length - 4)).isEqualTo(-1);
  }
}
