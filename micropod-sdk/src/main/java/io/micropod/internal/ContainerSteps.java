package io.micropod.internal;

import static io.micropod.internal.RealMicroPod.GUEST_IMAGE_ROOTFS;

import io.micropod.AgentException;
import io.micropod.ContainerFile;
import io.micropod.ContainerStartException;
import io.micropod.MicroPodException;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentProcess;
import io.micropod.internal.agent.ContainerLaunch;
import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.vm.VmProcess;

/** The container steps: {@code container.create}, {@code container.copy} and {@code container.start}. */
final class ContainerSteps {
  private ContainerSteps() {}

  static void createContainer(Boot b, CleanupStack cleanup) {
    ContainerLaunch launch = new ContainerLaunch(b.id, GUEST_IMAGE_ROOTFS,
        process(b.prepared.get().plan(), b.spec.tty().isPresent()),
        b.spec.hostname().orElse(b.id), (long) b.spec.containerMemoryMib() << 20,
        NetworkSteps.hosts(b), NetworkSteps.resolvConf(b), MountSteps.requests(b.spec),
        b.spec.seccomp(), b.spec.tty().orElse(null), b.spec.stdinOpen());
    try {
      b.agentClient().createContainer(launch, b.supervising(), b.remaining());
      b.containerCreated = true;
    } catch (AgentException e) {
      throw vmDiedOr(b, e, "container.create");
    }
  }

  static void startContainer(Boot b, CleanupStack cleanup) {
    try {
      b.agentClient().startContainer(b.id, b.remaining());
    } catch (ContainerStartException e) {
      throw new ContainerStartException("the container of pod " + b.id + " could not start "
          + b.prepared.get().plan().args() + ": " + e.runtimeMessage() + " (check that the command exists in the image "
          + "and is executable, and that the working directory " + b.prepared.get().plan().cwd() + " exists)",
          e, b.id, Phase.CONTAINER_START, e.runtimeMessage());
    } catch (AgentException e) {
      throw vmDiedOr(b, e, "container.start");
    }
  }

  /** {@code container.copy}: the spec's files, into the created container before it starts. */
  static void copyFiles(Boot b, CleanupStack cleanup) {
    for (ContainerFile file : b.spec.files()) {
      try {
        Lifecycle.copyIn(b, file);
      } catch (AgentException e) {
        throw new MicroPodException("pod " + b.id + ": cannot copy " + file + " into the container: "
            + e.getMessage(), e, b.id, Phase.CONTAINER_START);
      }
    }
  }

  /** When the VM died under a call, say so (with its console) rather than "unreachable". */
  private static RuntimeException vmDiedOr(Boot b, AgentException e, String step) {
    VmProcess vm = b.vmProcess();
    if (vm.isAlive()) {
      return e;
    }
    return new VmStartException(b.vmExitedMessage(VmSteps.exitCodeOf(vm), "during " + step), e, b.id,
        Phase.CONTAINER_START, step, b.consoleTail());
  }

  /** The one builder of what the agent runs: the container's main process and every exec. */
  static AgentProcess process(ProcessPlan plan, boolean terminal) {
    return new AgentProcess(plan.args(), plan.env(), plan.cwd(), plan.user(), terminal);
  }
}
