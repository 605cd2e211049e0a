package io.micropod;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The SDK's rooms and what each may import (docs/internals/architecture.md draws the same
 * picture). The public signatures themselves are checked by {@link PublicApiTest}.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ArchitectureTest {
  private static JavaClasses sdk;

  @BeforeAll
  static void importSdk() {
    sdk = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.micropod");
  }

  /** The public API packages: {@code io.micropod}, {@code .event}, {@code .spi}. */
  static boolean isApi(String pkg) {
    return pkg.equals("io.micropod") || pkg.equals("io.micropod.event") || pkg.equals("io.micropod.spi");
  }

  /**
   * Every package is a slice, except that the three public packages are one (the API). The API's
   * facade calls into {@code internal} (MicroPod.builder() starts a RealMicroPod, MicroPodRuntime
   * holds RuntimeServices) while internal code speaks the API's value and exception types: that
   * pair is the facade, as OkHttp's {@code okhttp3} and {@code okhttp3.internal}, and is the one
   * edge not counted. Every other cycle is.
   */
  @Test
  void sdkPackagesFormNoCycle() {
    SliceAssignment byPackage = new SliceAssignment() {
      @Override
      public SliceIdentifier getIdentifierOf(JavaClass c) {
        String pkg = c.getPackageName();
        if (!pkg.startsWith("io.micropod") || pkg.startsWith("io.micropod.agent.")) {
          return SliceIdentifier.ignore();
        }
        return SliceIdentifier.of(isApi(pkg) ? "io.micropod (API)" : pkg);
      }

      @Override
      public String getDescription() {
        return "packages of micropod-sdk (the public API as one)";
      }
    };
    slices().assignedFrom(byPackage)
        .should().beFreeOfCycles()
        .ignoreDependency(
            DescribedPredicate.describe("the public API", (JavaClass c) -> isApi(c.getPackageName())),
            DescribedPredicate.describe("internal", (JavaClass c) -> c.getPackageName().startsWith("io.micropod.internal")))
        .check(sdk);
  }

  @Test
  void onlyTheAgentClientPackageSpeaksGrpcOrTheGeneratedProtocol() {
    noClasses().that().resideOutsideOfPackage("io.micropod.internal.agent..")
        .and().resideInAPackage("io.micropod..")
        .and().resideOutsideOfPackage("io.micropod.agent.v1..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.grpc..", "io.micropod.agent.v1..", "com.google.protobuf..")
        .because("AgentClient (internal.agent) is the SDK's one room that speaks gRPC; the rest speaks domain types")
        .check(sdk);
  }

  @Test
  void publicApiDependsOnNoThirdPartyLibrary() {
    noClasses().that().resideInAnyPackage("io.micropod", "io.micropod.event", "io.micropod.spi")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.grpc..", "io.micropod.agent.v1..", "com.google..", "com.fasterxml..",
            "okhttp3..", "org.apache.commons..", "org.newsclub..", "com.github.luben..")
        .because("the public classes delegate to internal; third-party code stays behind it")
        .check(sdk);
  }
  @Test
  void noSdkClassDependsOnAMetricsLibrary() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage(
            "io.micrometer..", "io.prometheus..", "io.opentelemetry..")
        .because("metrics are the optional micropod-micrometer module's: it listens to the SDK's events"
            + " (docs/metrics.md); the SDK stays free of any metrics library")
        .check(sdk);
  }
}
