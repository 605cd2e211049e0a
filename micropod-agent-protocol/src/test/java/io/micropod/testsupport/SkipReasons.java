package io.micropod.testsupport;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

/**
 * Prints, in the build output, why a test did not run: an assumption that failed (not root, no
 * runc, no gcc) or a condition that disabled it. Surefire and failsafe count such tests as
 * skipped but print their reason only into the XML reports, so a test that cannot run on a
 * developer's machine would skip silently. Every module's tests get this listener from this
 * module's test jar ({@code META-INF/services}); it lives here because every module depends on
 * this one. Fast and never throws, as a listener must.
 */
public final class SkipReasons implements TestExecutionListener {
  @Override
  public void executionSkipped(TestIdentifier test, String reason) {
    print(test, reason);
  }

  @Override
  public void executionFinished(TestIdentifier test, TestExecutionResult result) {
    if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
      print(test, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
    }
  }

  private static void print(TestIdentifier test, String reason) {
    String where = test.getSource().map(s -> s instanceof MethodSource m ? m.getClassName() + "." + m.getMethodName()
        : s instanceof ClassSource c ? c.getClassName() : s.toString()).orElse(test.getDisplayName());
    System.out.println("[SKIPPED] " + where + ": " + reason);
  }
}
