package io.micropod.internal.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.EgressPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class EgressFilesTest {

  @Test
  void rulesAreRenderedInTheGuardsFormat() {
    EgressPolicy p = EgressPolicy.builder().defaultAction(EgressPolicy.Action.DENY)
        .allow("198.51.100.0/24", "*.example.org").deny("2001:db8::/32", "bad.example.org").build();

    assertThat(EgressFiles.render(p)).endsWith("default deny\nallow cidr 198.51.100.0/24\nallow name *.example.org\n"
        + "deny cidr 2001:db8:0:0:0:0:0:0/32\ndeny name bad.example.org\n");
    assertThat(EgressFiles.render(EgressPolicy.allowAll())).endsWith("default allow\n");
  }

  @Test
  void writingReplacesTheRulesAtomicallyLeavingNoTemporaryFile(@TempDir Path dir) throws IOException {
    EgressFiles.write(dir, EgressPolicy.builder().deny("192.0.2.0/24").build());
    Object firstInode = Files.getAttribute(dir.resolve(EgressFiles.RULES), "unix:ino");

    EgressFiles.write(dir, EgressPolicy.builder().allow("192.0.2.0/24").build());

    assertThat(Files.readString(dir.resolve(EgressFiles.RULES))).contains("allow cidr 192.0.2.0/24\n")
        .doesNotContain("deny cidr");
    assertThat(Files.getAttribute(dir.resolve(EgressFiles.RULES), "unix:ino")).isNotEqualTo(firstInode);
    try (var s = Files.list(dir)) {
      assertThat(s.map(f -> f.getFileName().toString()).toList()).containsExactly(EgressFiles.RULES);
    }
    assertThat(Files.getPosixFilePermissions(dir.resolve(EgressFiles.RULES)).toString()).contains("OTHERS_READ");
  }

  @Test
  void eventsLinesAreParsedAndAnythingElseIsDropped() {
    assertThat(EgressFiles.parse("1796541365456 deny tcp 192.0.2.1 80 rule")).isEqualTo(new EgressFiles.Denial(
        Instant.ofEpochMilli(1796541365456L), "tcp", "192.0.2.1", 80, false, 1));
    assertThat(EgressFiles.parse("1 deny dns www.example.org 53 rule").destination()).isEqualTo("www.example.org");
    assertThat(EgressFiles.parse("1 deny udp 2001:db8::1 53 host").byHostRule()).isTrue();
    assertThat(EgressFiles.parse("1 suppressed 977")).isEqualTo(new EgressFiles.Denial(
        Instant.ofEpochMilli(1), "*", "*", 0, false, 977));
    assertThat(EgressFiles.parse("1 deny tcp 192.0.2.1 99999 rule")).isNull();
    assertThat(EgressFiles.parse("1 deny icmp 192.0.2.1 80 rule")).isNull();
    assertThat(EgressFiles.parse("1 deny tcp 192.0.2.1 80 rule extra")).isNull();
    assertThat(EgressFiles.parse("1 deny tcp a/b 80 rule")).isNull();
    assertThat(EgressFiles.parse("")).isNull();
  }

  @Test
  void theReaderReturnsOnlyNewCompleteLinesAndStartsOverWhenTheGuardTruncates(@TempDir Path dir) throws IOException {
    Path f = dir.resolve(EgressFiles.EVENTS);
    EgressFiles.Reader r = new EgressFiles.Reader(f);
    assertThat(r.poll()).isEmpty(); // no file yet

    append(f, "1 deny tcp 192.0.2.1 80 rule\n2 deny tcp 192.0.2.2 8");
    assertThat(r.poll()).extracting(EgressFiles.Denial::destination).containsExactly("192.0.2.1");
    append(f, "0 rule\nnot a line\n" + "x".repeat(10_000) + "\n");
    assertThat(r.poll()).extracting(EgressFiles.Denial::port).containsExactly(80);
    assertThat(r.poll()).isEmpty();

    Files.writeString(f, "3 deny udp 192.0.2.3 53 rule\n"); // the guard started the file again
    assertThat(r.poll()).extracting(EgressFiles.Denial::destination).containsExactly("192.0.2.3");
  }

  private static void append(Path f, String text) throws IOException {
    Files.writeString(f, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  @Test
  void aRecordedPolicyReadsBackTheSame() {
    EgressPolicy p = EgressPolicy.builder().defaultAction(EgressPolicy.Action.DENY).allow("192.0.2.0/24")
        .deny("*.example.org").build();

    assertThat(io.micropod.internal.state.PodRecord.Egress.of(p).toPolicy()).isEqualTo(p);
    assertThat(io.micropod.internal.state.PodRecord.Egress.of(EgressPolicy.allowAll())).isNull();
    assertThat(List.of(p.allowed(), p.denied())).hasSize(2);
  }

  @Test
  void thePodRecordsDetailsKeepTheEgressRulesThroughJson() throws IOException {
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    var egress = new io.micropod.internal.state.PodRecord.Egress("DENY", List.of("192.0.2.0/24"), List.of());
    var details = new io.micropod.internal.state.PodRecord.Details(null, List.of("sh"), null, null, null,
        java.util.Map.of(), List.of(), List.of(), "no", null, java.util.Map.of(), egress, "NAT", 512, 1);

    var read = mapper.readValue(mapper.writeValueAsString(details), io.micropod.internal.state.PodRecord.Details.class);

    assertThat(read.egress()).isEqualTo(egress);
    assertThat(mapper.readValue("{\"command\":[\"sh\"]}", io.micropod.internal.state.PodRecord.Details.class).egress())
        .isNull(); // a record written before egress rules
  }
}
