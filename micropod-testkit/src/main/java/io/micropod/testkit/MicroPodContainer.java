package io.micropod.testkit;

import io.micropod.testkit.internal.MicroPodExtension;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a field whose pod the MicroPod JUnit 5 extension starts before the tests that need it and
 * closes after them. No class-level annotation is needed: this annotation registers the extension.
 *
 * <pre>{@code
 * class GreetingTest {
 *   @MicroPodContainer
 *   static final ManagedPod pod = ManagedPod.of(MicroPod.builder()
 *           .image("oci:/images/busybox")
 *           .command("sh", "-c", "echo ready; exec sleep 3600"))
 *       .waitingFor(Wait.forLogMessage("ready", 1));
 *
 *   @Test
 *   void says() {
 *     assertEquals("hi\n", pod.exec("echo", "hi").stdout());
 *   }
 * }
 * }</pre>
 *
 * <h2>Field types</h2>
 * <ul>
 *   <li>{@link ManagedPod} (the field may be declared {@code MicroPod}): the field itself is the
 *       running pod once started, and its {@linkplain ManagedPod#waitingFor wait strategies} run
 *       before the first test sees it.
 *   <li>{@link io.micropod.MicroPodSpec} or {@link io.micropod.MicroPodSpec.Builder}: the extension
 *       starts a pod from it; a test or lifecycle method receives it as a parameter of type
 *       {@link io.micropod.MicroPod} (when exactly one such pod is visible to it).
 * </ul>
 * A {@code null} field or another type fails the test class with a message saying what to use.
 *
 * <h2>Lifetime</h2>
 * A static field's pod lives for its test class (started before {@code @BeforeAll} methods, closed
 * after {@code @AfterAll} methods); an instance field's pod lives for one test method (or for the
 * class with {@code @TestInstance(PER_CLASS)}). {@code @Nested} classes see the pods of their
 * enclosing classes. {@link Scope#SESSION} shares one pod across test classes.
 *
 * <h2>Boot once, restore per test</h2>
 * {@code @MicroPodContainer(snapshot = true)} on an instance field boots and readies its spec once
 * per run and gives every test a pod of its own restored from a snapshot of it: see
 * {@link #snapshot()}.
 *
 * <h2>Parallel execution</h2>
 * Safe with {@code junit.jupiter.execution.parallel.enabled=true}: every pod has its own random
 * id, VM, sockets and directories, whatever runs at the same time. Pods are closed through the
 * extension store as {@link AutoCloseable} values, which needs JUnit 5.13 or later.
 *
 * <h2>Hosts that cannot run pods</h2>
 * When a pod cannot start because the host lacks a VMM, the guest image or a permission
 * ({@link io.micropod.HostUnsupportedException}), the tests fail with that reason, unless
 * {@link #skipIfUnsupported()} is set: then they are skipped (aborted) with it.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(MicroPodExtension.class)
public @interface MicroPodContainer {

  /** {@return how long the pod lives; default {@link Scope#DEFAULT}} */
  Scope scope() default Scope.DEFAULT;

  /**
   * When {@code true}, a host that cannot run pods skips the tests that need this pod (with the
   * reason) instead of failing them. Default {@code false}: fail, so that a CI machine without a
   * VMM does not pass silently.
   *
   * @return whether to skip on a host that cannot run pods
   */
  boolean skipIfUnsupported() default false;

  /**
   * When {@code true}, the field's spec is booted only once per test run: a pod of it (made
   * {@linkplain io.micropod.MicroPodSpec#snapshottable() snapshottable}) is started, its
   * {@linkplain ManagedPod#waitingFor wait strategies} run, it is
   * {@linkplain io.micropod.MicroPod#snapshot snapshotted} and closed. Every pod of the field (one
   * per test for an instance field, one per class for a static one, as without this attribute) is
   * then {@linkplain io.micropod.MicroPodSpec.Builder#fromSnapshot restored} from that snapshot: it
   * continues where the ready pod was, in a second or two instead of a cold start, with its own id,
   * hostname, ports and memory, so one test's writes are never seen by another. Default
   * {@code false}: every pod boots.
   *
   * <p>The snapshot is shared by every snapshot-mode field of an equal spec in the run (test
   * classes and parallel workers alike: the first that needs it makes it, the others wait), made
   * with the wait strategies of that first field, and removed when the run ends. The wait
   * strategies do not run again on restored pods: they continue from the ready state. The spec
   * must allow snapshots: QEMU or Firecracker without its jailer, no host directory mounts, no
   * networks (see docs/snapshots.md); otherwise the tests fail with the reason. Not with
   * {@link Scope#SESSION} (one shared pod needs no snapshot).
   *
   * @return whether the field's pods are restored from a snapshot of a pod made ready once
   */
  boolean snapshot() default false;

  /** The lifetime of a {@link MicroPodContainer} pod. */
  enum Scope {
    /** A static field: the test class; an instance field: one test method. */
    DEFAULT,
    /**
     * One pod for the whole test run (the JUnit Jupiter engine's execution), shared by every
     * session-scoped field whose spec is equal ({@link io.micropod.MicroPodSpec#equals}); started
     * by the first test class that needs it, closed when the run ends. A session-scoped
     * {@link ManagedPod} field is attached to the shared pod; closing the field does not close it.
     */
    SESSION
  }
}
