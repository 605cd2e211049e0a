package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessConfigTest {
  @Test
  void emptyUserAndCwdMeanRootInSlash() {
    ProcessConfig p = ProcessConfig.of(List.of("sh"), List.of("PATH=/bin"), "", "", false);
    assertThat(p.uid()).isZero();
    assertThat(p.gid()).isZero();
    assertThat(p.cwd()).isEqualTo("/");
  }

  @Test
  void userIsParsedFromUidOrUidColonGid() {
    assertThat(ProcessConfig.parseUser("1000")).containsExactly(1000, 0);
    assertThat(ProcessConfig.parseUser("1000:50")).containsExactly(1000, 50);
  }

  @Test
  void nonNumericUserIsInvalidArgument() {
    assertThatThrownBy(() -> ProcessConfig.of(List.of("sh"), List.of(), "", "nobody", false))
        .isInstanceOfSatisfying(ContainerException.class,
            e -> assertThat(e.reason()).isEqualTo(ContainerException.Reason.INVALID_ARGUMENT))
        .hasMessageContaining("nobody");
  }

  @Test
  void defaultPathIsAddedOnlyWhenTheEnvHasNone() {
    assertThat(ProcessConfig.of(List.of("sh"), List.of("A=b"), "", "", false).env())
        .containsExactly(ProcessConfig.DEFAULT_PATH, "A=b");
    assertThat(ProcessConfig.of(List.of("sh"), List.of("PATH=/x"), "", "", false).env())
        .containsExactly("PATH=/x");
  }

  @Test
  void malformedEnvEntryIsRejectedWithoutEchoingIt() {
    assertThatThrownBy(() -> ProcessConfig.of(List.of("sh"), List.of("A=b", "SECRETVALUE"), "", "",
        false))
        .isInstanceOf(ContainerException.class)
        .hasMessageContaining("process.env[1]")
        .hasMessageNotContaining("SECRETVALUE");
  }

  @Test
  void emptyArgsRelativeCwdAndTerminalAreRejected() {
    assertThatThrownBy(() -> ProcessConfig.of(List.of(), List.of(), "", "", false))
        .hasMessageContaining("args");
    assertThatThrownBy(() -> ProcessConfig.of(List.of("sh"), List.of(), "tmp", "", false))
        .hasMessageContaining("absolute");
    assertThatThrownBy(() -> ProcessConfig.of(List.of("sh"), List.of(), "", "", true))
        .isInstanceOfSatisfying(ContainerException.class,
            e -> assertThat(e.reason()).isEqualTo(ContainerException.Reason.UNIMPLEMENTED));
  }

  @Test
  void execInheritsTheContainersEnvAndCwdWhenEmpty() {
    ProcessConfig container =
        ProcessConfig.of(List.of("sleep", "1"), List.of("PATH=/bin", "FOO=bar"), "/srv", "5", false);
    ProcessConfig exec = ProcessConfig.forExec(container, List.of("env"), List.of(), "", "", false);
    assertThat(exec.env()).containsExactly("PATH=/bin", "FOO=bar");
    assertThat(exec.cwd()).isEqualTo("/srv");
    assertThat(exec.uid()).isZero();
    ProcessConfig own =
        ProcessConfig.forExec(container, List.of("env"), List.of("PATH=/x"), "/tmp", "7:7", false);
    assertThat(own.env()).containsExactly("PATH=/x");
    assertThat(own.cwd()).isEqualTo("/tmp");
    assertThat(own.uid()).isEqualTo(7);
  }

  @Test
  void containerIdsAreValidated() {
    assertThat(ContainerId.validate("a")).isEqualTo("a");
    assertThat(ContainerId.validate("web_1.x-y")).isEqualTo("web_1.x-y");
    assertThat(ContainerId.validate("a" + "b".repeat(63))).hasSize(64);
    for (String bad : new String[] {"", "-a", ".a", "a/b", "../x", "a b", "a" + "b".repeat(64)}) {
      assertThatThrownBy(() -> ContainerId.validate(bad))
          .isInstanceOfSatisfying(ContainerException.class,
              e -> assertThat(e.reason()).isEqualTo(ContainerException.Reason.INVALID_ARGUMENT));
    }
  }

  @Test
  void exitStatusAbove128IsASignal() {
    assertThat(ExitStatus.fromStatus(0)).isEqualTo(new ExitStatus(0, 0));
    assertThat(ExitStatus.fromStatus(3)).isEqualTo(new ExitStatus(3, 0));
    assertThat(ExitStatus.fromStatus(137)).isEqualTo(new ExitStatus(137, 9));
    assertThat(ExitStatus.fromStatus(128)).isEqualTo(new ExitStatus(128, 0));
    assertThat(ExitStatus.fromStatus(255)).isEqualTo(new ExitStatus(255, 0));
  }
}
