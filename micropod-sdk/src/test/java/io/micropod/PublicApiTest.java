package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The API rules: public signatures use only JDK and io.micropod (non-internal) types, and the
 * public API is what {@code api/micropod-sdk.api} says, so that every change to it is a deliberate
 * diff in review.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PublicApiTest {
  /** The committed signature file, relative to this module (surefire runs in the module dir). */
  static final Path BASELINE = Path.of("api", "micropod-sdk.api");
  /** {@code -Dmicropod.api.update=true} rewrites the baseline instead of comparing. */
  static final boolean UPDATE = Boolean.getBoolean("micropod.api.update");

  @Test
  void publicApiMatchesTheCommittedBaseline() throws Exception {
    String actual = render(apiClasses());
    if (UPDATE) {
      Files.createDirectories(BASELINE.getParent());
      Files.writeString(BASELINE, actual);
    }
    assertThat(BASELINE).as("the API baseline").exists();
    String expected = Files.readString(BASELINE);
    if (!expected.equals(actual)) {
      List<String> exp = expected.lines().toList();
      List<String> act = actual.lines().toList();
      List<String> diff = new ArrayList<>();
      exp.stream().filter(l -> !act.contains(l)).forEach(l -> diff.add("- " + l));
      act.stream().filter(l -> !exp.contains(l)).forEach(l -> diff.add("+ " + l));
      throw new AssertionError("the public API differs from " + BASELINE.toAbsolutePath()
          + " (if the change is intended, run: mvn -o test -pl micropod-sdk -Dtest=PublicApiTest"
          + " -Dmicropod.api.update=true, and commit the file):\n" + String.join("\n", diff));
    }
  }

  /** One line per public type and per public or protected member, sorted: a stable text form. */
  static String render(List<Class<?>> classes) {
    List<String> lines = new ArrayList<>();
    for (Class<?> c : classes) {
      if (!Modifier.isPublic(c.getModifiers()) || !isReachable(c)) {
        continue;
      }
      StringBuilder head = new StringBuilder(c.toGenericString());
      if (c.getGenericSuperclass() != null && c.getSuperclass() != Object.class
          && !c.isEnum() && !c.isRecord()) {
        head.append(" extends ").append(c.getGenericSuperclass().getTypeName());
      }
      Type[] interfaces = c.getGenericInterfaces();
      if (interfaces.length > 0) {
        head.append(c.isInterface() ? " extends " : " implements ");
        head.append(String.join(", ", Stream.of(interfaces).map(Type::getTypeName).toList()));
      }
      lines.add(head.toString());
      List<String> members = new ArrayList<>();
      for (Field f : c.getDeclaredFields()) {
        if (exposed(f.getModifiers()) && !f.isSynthetic()) {
          members.add("  " + f.toGenericString());
        }
      }
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        if (exposed(k.getModifiers()) && !k.isSynthetic()) {
          members.add("  " + k.toGenericString());
        }
      }
      for (Method m : c.getDeclaredMethods()) {
        if (exposed(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()) {
          members.add("  " + m.toGenericString());
        }
      }
      members.sort(null);
      lines.addAll(members);
    }
    return String.join("\n", lines) + "\n";
  }

  /** A nested type is API only when every type that encloses it is public too. */
  private static boolean isReachable(Class<?> c) {
    for (Class<?> e = c; e != null; e = e.getEnclosingClass()) {
      if (!Modifier.isPublic(e.getModifiers()) || e.isAnonymousClass() || e.isLocalClass()) {
        return false;
      }
    }
    return true;
  }

  @Test
  void publicSignaturesUseOnlyJdkAndMicroPodTypes() throws Exception {
    List<String> violations = new ArrayList<>();
    for (Class<?> c : apiClasses()) {
      if (!Modifier.isPublic(c.getModifiers())) {
        continue;
      }
      check(c.getGenericSuperclass(), c.getName() + " extends", violations);
      for (TypeVariable<?> v : c.getTypeParameters()) {
        check(v, c.getName() + "<" + v.getName() + ">", violations);
      }
      for (Type t : c.getGenericInterfaces()) {
        check(t, c.getName() + " implements", violations);
      }
      for (Method m : c.getDeclaredMethods()) {
        if (exposed(m.getModifiers()) && !m.isSynthetic()) {
          check(m.getGenericReturnType(), c.getName() + "." + m.getName() + " returns", violations);
          for (TypeVariable<?> v : m.getTypeParameters()) {
            check(v, c.getName() + "." + m.getName() + "<" + v.getName() + ">", violations);
          }
          checkParameters(m, c.getName() + "." + m.getName(), violations);
        }
      }
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        if (exposed(k.getModifiers())) {
          checkParameters(k, c.getName() + ".<init>", violations);
        }
      }
      for (Field f : c.getDeclaredFields()) {
        if (exposed(f.getModifiers())) {
          check(f.getGenericType(), c.getName() + "." + f.getName(), violations);
        }
      }
    }
    assertThat(violations).isEmpty();
  }

  private static boolean exposed(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static void checkParameters(Executable e, String where, List<String> violations) {
    for (Type t : e.getGenericParameterTypes()) {
      check(t, where + " takes", violations);
    }
    for (Type t : e.getGenericExceptionTypes()) {
      check(t, where + " throws", violations);
    }
  }

  private static void check(Type t, String where, List<String> violations) {
    if (t == null) {
      return;
    }
    if (t instanceof Class<?>) {
      Class<?> c = (Class<?>) t;
      while (c.isArray()) {
        c = c.getComponentType();
      }
      String n = c.getName();
      boolean ok = c.isPrimitive() || n.startsWith("java.")
          || (n.startsWith("io.micropod.") && !n.startsWith("io.micropod.internal.")
              && !n.startsWith("io.micropod.agent."));
      if (!ok) {
        violations.add(where + " " + n);
      }
    } else if (t instanceof ParameterizedType) {
      ParameterizedType p = (ParameterizedType) t;
      check(p.getRawType(), where, violations);
      for (Type a : p.getActualTypeArguments()) {
        check(a, where, violations);
      }
    } else if (t instanceof GenericArrayType) {
      check(((GenericArrayType) t).getGenericComponentType(), where, violations);
    } else if (t instanceof WildcardType) {
      for (Type b : ((WildcardType) t).getUpperBounds()) {
        check(b, where, violations);
      }
      for (Type b : ((WildcardType) t).getLowerBounds()) {
        check(b, where, violations);
      }
    } else if (t instanceof TypeVariable<?>) {
      for (Type b : ((TypeVariable<?>) t).getBounds()) {
        check(b, where, violations);
      }
    }
  }

  private static List<Class<?>> apiClasses() throws IOException, URISyntaxException, ClassNotFoundException {
    Path root = Path.of(MicroPod.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<Class<?>> classes = new ArrayList<>();
    for (String pkg : List.of("io/micropod", "io/micropod/event", "io/micropod/spi")) {
      Path dir = root.resolve(pkg);
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          String name = f.getFileName().toString();
          if (name.endsWith(".class") && !name.equals("package-info.class")) {
            String cls = pkg.replace('/', '.') + "." + name.substring(0, name.length() - 6);
            classes.add(Class.forName(cls, false, MicroPod.class.getClassLoader()));
          }
        }
      }
    }
    assertThat(classes).extracting(Class::getSimpleName).contains("MicroPod", "MicroPodSpec", "MicroPodListener");
    classes.sort(java.util.Comparator.comparing(Class::getName));
    return classes;
  }
}
