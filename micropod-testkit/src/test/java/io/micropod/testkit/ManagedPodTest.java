package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ManagedPodTest {
  private static final MicroPodSpec SPEC = MicroPodSpec.builder().image("oci:/images/busybox").build();

  /**
   * Every MicroPod method, also default methods added later (ports, copy, ...), must reach the
   * running pod; a method ManagedPod does not override would run against the unstarted shell.
   */
  @Test
  void overridesEveryMicroPodInstanceMethod() {
    List<String> missing = Arrays.stream(MicroPod.class.getMethods())
        .filter(m -> !Modifier.isStatic(m.getModifiers()))
        .filter(m -> !declares(ManagedPod.class, m))
        .map(Method::toString)
        .collect(Collectors.toList());

    assertThat(missing).as("MicroPod methods that ManagedPod must delegate").isEmpty();
  }

  private static boolean declares(Class<?> type, Method m) {
    try {
      return type.getDeclaredMethod(m.getName(), m.getParameterTypes()).getDeclaringClass() == type;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  @Test
  void anUnstartedPodSaysHowToStartIt() {
    ManagedPod pod = ManagedPod.of(SPEC);

    assertThat(pod.isRunning()).isFalse();
    assertThat(pod.spec()).isSameAs(SPEC);
    assertThatThrownBy(pod::id).isInstanceOf(IllegalStateException.class)
        .hasMessage("ManagedPod of oci:/images/busybox:latest is not started: annotate its field with "
            + "@MicroPodContainer, or call start()");
    assertThatThrownBy(() -> pod.exec("true")).isInstanceOf(IllegalStateException.class);
    pod.close(); // idempotent, also before start
    assertThat(pod.toString()).isEqualTo("ManagedPod{image=oci:/images/busybox:latest, not running}");
  }

  @Test
  void waitingForReturnsACopyWithTheStrategiesAppended() {
    WaitStrategy a = Wait.forLogMessage("a", 1);
    WaitStrategy b = Wait.forListeningPort(80);
    ManagedPod plain = ManagedPod.of(MicroPod.builder().image("oci:/images/busybox"));

    ManagedPod both = plain.waitingFor(a).waitingFor(b);

    assertThat(plain.waitStrategies()).isEmpty();
    assertThat(both.waitStrategies()).containsExactly(a, b);
    assertThat(both.spec()).isEqualTo(plain.spec());
  }
}
