package io.micropod.examples;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The examples (and the CLI) are what users copy: they use the public API only. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ExamplesUsePublicApiTest {

  @Test
  void examplesDependOnNoInternalPackage() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage(
            "io.micropod.internal..", "io.micropod.agent..")
        .because("io.micropod, io.micropod.event and io.micropod.spi are the API; internal is not")
        .check(new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.micropod.examples"));
  }
}
