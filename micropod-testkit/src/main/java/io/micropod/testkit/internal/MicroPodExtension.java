package io.micropod.testkit.internal;

import io.micropod.HostUnsupportedException;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.testkit.ManagedPod;
import io.micropod.testkit.MicroPodContainer;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.opentest4j.TestAbortedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the pods of {@link MicroPodContainer} fields and closes them through the extension
 * store: static fields in {@code beforeAll} (class store), instance fields in {@code beforeEach}
 * (method store) or, with {@code PER_CLASS}, in {@code beforeAll}; session-scoped ones once per
 * run in the root store. Snapshot-mode fields ({@code snapshot = true}) start their pods from a
 * {@link SnapshotTemplate}, made once per spec and run in the root store. The stores close the pods ({@link AutoCloseable} values, JUnit 5.13+),
 * in the reverse order of their start. Also resolves parameters of type {@link MicroPod}.
 *
 * <p>Thread-safe: state lives only in the stores (per context), so tests that run in parallel
 * never share anything but session pods and snapshot templates, whose making is serialized.
 */
public final class MicroPodExtension implements BeforeAllCallback, BeforeEachCallback, ParameterResolver {
  private static final Logger log = LoggerFactory.getLogger(MicroPodExtension.class);
  private static final Namespace NAMESPACE = Namespace.create(MicroPodExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    Class<?> testClass = context.getRequiredTestClass();
    Pods pods = pods(context);
    for (Field f : fields(testClass, true)) {
      start(context, pods, null, f);
    }
    if (context.getTestInstanceLifecycle().orElse(TestInstance.Lifecycle.PER_METHOD)
        == TestInstance.Lifecycle.PER_CLASS) {
      Optional<Object> instance = context.getTestInstance();
      if (instance.isPresent()) {
        for (Field f : fields(instance.get().getClass(), false)) {
          start(context, pods, instance.get(), f);
        }
      }
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    Pods pods = pods(context);
    // Outer instances first: a @Nested test sees the pods of its enclosing classes' fields.
    for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
      for (Field f : fields(instance.getClass(), false)) {
        if (!startedFor(context, instance, f)) {
          start(context, pods, instance, f);
        }
      }
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == MicroPod.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Map<MicroPod, String> visible = new IdentityHashMap<>();
    for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
      for (Entry e : pods(c.get()).entries) {
        visible.putIfAbsent(e.pod, e.where);
      }
    }
    if (visible.size() == 1) {
      return visible.keySet().iterator().next();
    }
    String param = parameter.getDeclaringExecutable().getName() + "(.. " + parameter.getParameter().getName() + ")";
    if (visible.isEmpty()) {
      throw new ParameterResolutionException("no @MicroPodContainer pod is visible to " + param
          + ": annotate a static or instance field holding a MicroPodSpec, MicroPodSpec.Builder or ManagedPod");
    }
    throw new ParameterResolutionException(visible.size() + " @MicroPodContainer pods are visible to "
        + param + " (" + String.join(", ", visible.values()) + "): a MicroPod parameter needs exactly"
        + " one; declare the fields as ManagedPod and use them directly");
  }

  // ---- starting ----------------------------------------------------------------------------

  private static List<Field> fields(Class<?> type, boolean statics) {
    return AnnotationSupport.findAnnotatedFields(type, MicroPodContainer.class,
        f -> Modifier.isStatic(f.getModifiers()) == statics, HierarchyTraversalMode.TOP_DOWN);
  }

  private static void start(ExtensionContext context, Pods pods, Object instance, Field field) {
    MicroPodContainer annotation = field.getAnnotation(MicroPodContainer.class);
    String where = field.getDeclaringClass().getSimpleName() + "." + field.getName();
    Object value = read(field, instance, where);
    boolean session = annotation.scope() == MicroPodContainer.Scope.SESSION;
    boolean restored = annotation.snapshot();
    if (session && restored) {
      throw new ExtensionConfigurationException("@MicroPodContainer field " + where + " has both "
          + "scope = SESSION (one pod shared by the run) and snapshot = true (a pod per test or class "
          + "restored from a snapshot): choose one");
    }
    try {
      MicroPod pod;
      if (value instanceof ManagedPod) {
        ManagedPod managed = (ManagedPod) value;
        if (restored) {
          ManagedPodAccess.get().startRestored(managed,
              snapshotTemplate(context, managed.spec(), managed.waitStrategies(), where).restoreSpec());
          context.getStore(NAMESPACE).put(new Object(), managed);
        } else if (session) {
          ManagedPodAccess.get().attach(managed, sessionPod(context, managed.spec(), where));
        } else {
          managed.start();
          context.getStore(NAMESPACE).put(new Object(), managed);
        }
        pod = managed;
      } else if (value instanceof MicroPodSpec || value instanceof MicroPodSpec.Builder) {
        MicroPodSpec spec = value instanceof MicroPodSpec
            ? (MicroPodSpec) value : ((MicroPodSpec.Builder) value).build();
        if (session) {
          pod = sessionPod(context, spec, where);
        } else {
          pod = MicroPod.start(restored
              ? snapshotTemplate(context, spec, List.of(), where).restoreSpec() : spec);
          context.getStore(NAMESPACE).put(new Object(), (AutoCloseable) pod);
        }
      } else if (value == null) {
        throw new ExtensionConfigurationException("@MicroPodContainer field " + where + " is null: "
            + "initialize it, e.g. with ManagedPod.of(MicroPod.builder().image(..))");
      } else if (value instanceof MicroPod) {
        throw new ExtensionConfigurationException("@MicroPodContainer field " + where + " holds a "
            + value.getClass().getSimpleName() + " the extension cannot start: declare it as "
            + "ManagedPod.of(spec), or as a MicroPodSpec");
      } else {
        throw new ExtensionConfigurationException("@MicroPodContainer field " + where + " has type "
            + value.getClass().getName() + ": use ManagedPod, MicroPodSpec or MicroPodSpec.Builder");
      }
      log.debug("{}: pod {} for {} ({})", where, pod.id(), context.getDisplayName(),
          (session ? "session" : instance == null ? "class" : "test") + (restored ? ", restored" : ""));
      pods.entries.add(new Entry(instance, field, pod, where));
    } catch (HostUnsupportedException e) {
      if (annotation.skipIfUnsupported()) {
        throw new TestAbortedException("skipped (@MicroPodContainer(skipIfUnsupported = true) on "
            + where + "): " + e.getMessage(), e);
      }
      throw e;
    }
  }

  private static Object read(Field field, Object instance, String where) {
    if (!field.trySetAccessible()) {
      throw new ExtensionConfigurationException("@MicroPodContainer field " + where
          + " is not accessible (module encapsulation?): open its package to io.micropod.testkit");
    }
    try {
      return field.get(instance);
    } catch (IllegalAccessException e) {
      throw new ExtensionConfigurationException("cannot read @MicroPodContainer field " + where, e);
    }
  }

  private static MicroPod sessionPod(ExtensionContext context, MicroPodSpec spec, String where) {
    SessionPod shared = context.getRoot().getStore(NAMESPACE)
        .getOrComputeIfAbsent(new SessionKey(spec), k -> new SessionPod(spec, where), SessionPod.class);
    return shared.get();
  }

  /** The run's snapshot of {@code spec}: one per equal spec, shared by every class and worker. */
  private static SnapshotTemplate snapshotTemplate(ExtensionContext context, MicroPodSpec spec,
      List<io.micropod.testkit.WaitStrategy> waits, String where) {
    return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(new SnapshotKey(spec),
        k -> SnapshotTemplate.of(spec, waits, where), SnapshotTemplate.class);
  }

  private static boolean startedFor(ExtensionContext context, Object instance, Field field) {
    for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
      for (Entry e : pods(c.get()).entries) {
        if (e.instance == instance && e.field.equals(field)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The pods started for one context (its own, not its parents'). */
  private static Pods pods(ExtensionContext context) {
    return context.getStore(NAMESPACE)
        .getOrComputeIfAbsent(new PodsKey(context.getUniqueId()), k -> new Pods(), Pods.class);
  }

  private static final class Pods {
    final List<Entry> entries = new CopyOnWriteArrayList<>();
  }

  private static final class Entry {
    final Object instance;
    final Field field;
    final MicroPod pod;
    final String where;

    Entry(Object instance, Field field, MicroPod pod, String where) {
      this.instance = instance;
      this.field = field;
      this.pod = pod;
      this.where = where;
    }
  }

  private record PodsKey(String contextId) {}

  /** Session pods are shared by equal specs. */
  private record SessionKey(MicroPodSpec spec) {}

  /** Snapshot-mode fields of equal specs share one snapshot. */
  private record SnapshotKey(MicroPodSpec spec) {}

  /**
   * A session pod: started on first use (once; a failure is remembered and thrown to every later
   * user), closed with the root store at the end of the run.
   */
  static final class SessionPod implements AutoCloseable {
    private final MicroPodSpec spec;
    private final String firstUser;
    private MicroPod pod;
    private RuntimeException failure;
    private boolean closed;

    SessionPod(MicroPodSpec spec, String firstUser) {
      this.spec = spec;
      this.firstUser = firstUser;
    }

    synchronized MicroPod get() {
      if (closed) {
        throw new IllegalStateException("the test run ended; its session pods are closed");
      }
      if (failure != null) {
        throw failure;
      }
      if (pod == null) {
        try {
          pod = MicroPod.start(spec);
          log.debug("session pod {} started for {}", pod.id(), firstUser);
        } catch (RuntimeException e) {
          failure = e;
          throw e;
        }
      }
      return pod;
    }

    @Override
    public synchronized void close() {
      closed = true;
      if (pod != null) {
        pod.close();
      }
    }
  }

  @Override
  public String toString() {
    return "MicroPodExtension";
  }
}
