package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.micropod.testkit.examples.LifecycleExample;
import io.micropod.testkit.examples.SessionExamples;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;

/** Runs example test classes with the JUnit Platform TestKit and checks the pods' lifetimes. */
class LifecycleIT {
  private static final Pattern TEST_LINE = Pattern.compile("test (\\w+) class=(\\w+) test=(\\w+)");

  @Test
  void staticPodLivesForTheClassInstancePodForEachTestAndNestedTestsSeeBoth() {
    LifecycleExample.log.clear();

    EngineTestKit.engine("junit-jupiter").selectors(selectClass(LifecycleExample.class)).execute()
        .testEvents().assertStatistics(s -> s.started(2).succeeded(2));

    List<String> log = new ArrayList<>(LifecycleExample.log);
    Matcher outer = match(log.get(0), "outer");
    Matcher inner = match(log.get(2), "inner");
    String classPod = outer.group(2);
    assertThat(inner.group(2)).as("the nested test sees the outer class pod").isEqualTo(classPod);
    assertThat(outer.group(3)).isNotEqualTo(inner.group(3)).isNotEqualTo(classPod);
    assertThat(inner.group(3)).isNotEqualTo(classPod);
    // each test pod is stopped right after its test, the class pod after the last test
    assertThat(log).containsExactly(
        log.get(0), "stopped " + outer.group(3),
        log.get(2), "stopped " + inner.group(3),
        "stopped " + classPod);
    assertThat(List.of(classPod, outer.group(3), inner.group(3))).noneMatch(TestImages::leftovers);
  }

  @Test
  void sessionPodIsSharedByEqualSpecsAcrossClassesAndStoppedOnceAtTheEnd() {
    SessionExamples.log.clear();

    EngineTestKit.engine("junit-jupiter")
        .selectors(selectClass(SessionExamples.First.class), selectClass(SessionExamples.Second.class))
        .execute().testEvents().assertStatistics(s -> s.started(2).succeeded(2));

    List<String> log = new ArrayList<>(SessionExamples.log);
    assertThat(log).hasSize(3);
    String id = log.get(0).substring("First ".length());
    assertThat(log).containsExactly("First " + id, "Second " + id, "stopped " + id);
    assertThat(TestImages.leftovers(id)).isFalse();
  }

  private static Matcher match(String line, String test) {
    Matcher m = TEST_LINE.matcher(line);
    assertThat(m.matches()).as(line).isTrue();
    assertThat(m.group(1)).isEqualTo(test);
    return m;
  }
}
