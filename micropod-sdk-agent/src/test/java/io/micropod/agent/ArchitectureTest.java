package io.micropod.agent;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The agent's rooms (docs/internals/architecture.md): {@code io.micropod.agent} starts the agent
 * and wires {@code rpc} (the gRPC handlers) over {@code runtime} (containers, no gRPC) and
 * {@code channel} (the virtio-serial relay); {@code base} (logging, the guest's clock and facts)
 * is the leaf every room may use. No cycle between them.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ArchitectureTest {

  @Test
  void agentPackagesFormNoCycle() {
    JavaClasses agent = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.micropod.agent");
    slices().matching("io.micropod.(agent).(*)..").should().beFreeOfCycles().check(agent);
    slices().matching("io.micropod.(**)").should().beFreeOfCycles().check(agent);
  }
}
