package io.micropod.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each {@code <!-- snippet: path#tag -->} code block in the docs must equal the tagged region of
 * that compiled file ({@code // tag::x[]} .. {@code // end::x[]}, de-indented), so the docs show
 * code that compiles and runs in CI.
 */
class DocSnippetsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern SNIPPET = Pattern.compile(
      "<!-- snippet: (\\S+)#(\\S+) -->\\n```java\\n(.*?)```", Pattern.DOTALL);

  @ParameterizedTest
  @ValueSource(strings = {"docs/testing.md", "docs/getting-started.md", "README.md",
      "docs/tty.md", "docs/mounts.md", "docs/metrics.md", "docs/lifecycle.md"})
  void snippetsEqualTheirTaggedRegions(String doc) throws IOException {
    String text = Files.readString(ROOT.resolve(doc));
    Matcher m = SNIPPET.matcher(text);
    int found = 0;
    while (m.find()) {
      found++;
      String region = region(ROOT.resolve(m.group(1)), m.group(2));
      assertThat(m.group(3)).as("%s: snippet %s#%s", doc, m.group(1), m.group(2)).isEqualTo(region);
    }
    assertThat(found).as("snippets in %s", doc).isEqualTo(text.split("<!-- snippet: ", -1).length - 1);
    // A doc listed here that lost its snippets would pass while checking nothing.
    assertThat(found).as("snippets in %s", doc).isPositive();
  }

  /** What a newcomer copies first must compile: every Java block of these is a snippet. */
  @ParameterizedTest
  @ValueSource(strings = {"README.md", "docs/getting-started.md"})
  void everyJavaBlockIsACompiledSnippet(String doc) throws IOException {
    String text = Files.readString(ROOT.resolve(doc));
    long javaBlocks = text.lines().filter(l -> l.equals("```java")).count();
    assertThat(javaBlocks).as("java blocks in %s", doc).isPositive();
    assertThat(SNIPPET.matcher(text).results().count()).as("compiled snippets in %s", doc)
        .isEqualTo(javaBlocks);
  }

  static String region(Path file, String tag) throws IOException {
    String src = Files.readString(file);
    Matcher m = Pattern.compile("(?ms)^[ \\t]*// tag::" + Pattern.quote(tag) + "\\[\\]\\n(.*?)^[ \\t]*// end::"
        + Pattern.quote(tag) + "\\[\\]").matcher(src);
    assertThat(m.find()).as("tag %s in %s", tag, file).isTrue();
    String body = m.group(1);
    int indent = body.lines().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    StringBuilder sb = new StringBuilder();
    body.lines().forEach(l -> sb.append(l.isBlank() ? "" : l.substring(indent)).append('\n'));
    return sb.toString();
  }
}
