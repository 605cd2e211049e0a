package io.micropod.internal;

import static io.micropod.internal.RealMicroPod.GUEST_IMAGE_ROOTFS;

import io.micropod.AgentException;
import io.micropod.ContainerStartException;
import io.micropod.VmStartException;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.event.Phase;
import io.micropod.internal.image.ProcessPlan;
import java.util.List;

/** The container steps: {@code container.create} and {@code container.start}. */
final class ContainerSteps {
  private ContainerSteps() {}

  static void createContainer(Boot b, CleanupStack cleanup) {
    ProcessPlan p = b.plan;
    CreateContainerRequest req = CreateContainerRequest.newBuilder()
        .setContainerId(b.id)
        .setImageRootfs(GUEST_IMAGE_ROOTFS)
        .setProcess(processSpec(p, p.args()))
        .setHostname(b.spec.hostname().orElse(b.id))
        .setMemoryLimitBytes((long) b.spec.containerMemoryMib() << 20)
        .setHosts(NetworkSteps.hosts(b))
        .setResolvConf(NetworkSteps.resolvConf(b))
        .addAllMounts(MountSteps.requests(b.spec))
        .setSeccomp(b.spec.seccomp() == io.micropod.SeccompProfile.UNCONFINED
            ? io.micropod.agent.v1.Seccomp.SECCOMP_UNCONFINED
            : io.micropod.agent.v1.Seccomp.SECCOMP_DEFAULT)
        .build();
    try {
      b.agent.createContainer(req, b.remaining());
      b.containerCreated = true;
    } catch (AgentException e) {
      throw vmDiedOr(b, e, "container.create");
    }
  }

  static void startContainer(Boot b, CleanupStack cleanup) {
    try {
      b.agent.startContainer(b.id, b.remaining());
    } catch (ContainerStartException e) {
      throw new ContainerStartException("the container of pod " + b.id + " could not start "
          + b.plan.args() + ": " + e.runtimeMessage() + " (check that the command exists in the image "
          + "and is executable, and that the working directory " + b.plan.cwd() + " exists)",
          e, b.id, Phase.CONTAINER_START, e.runtimeMessage());
    } catch (AgentException e) {
      throw vmDiedOr(b, e, "container.start");
    }
  }

  /** When the VM died under a call, say so (with its console) rather than "unreachable". */
  private static RuntimeException vmDiedOr(Boot b, AgentException e, String step) {
    if (b.vm.isAlive()) {
      return e;
    }
    return new VmStartException("the VM of pod " + b.id + " exited with code "
        + VmSteps.exitCodeOf(b.vm) + " during " + step, e, b.id, Phase.CONTAINER_START, step,
        b.consoleTail());
  }

  static ProcessSpec processSpec(ProcessPlan plan, List<String> args) {
    return ProcessSpec.newBuilder()
        .addAllArgs(args)
        .addAllEnv(plan.env())
        .setCwd(plan.cwd())
        .setUser(plan.user())
        .setTerminal(false)
        .build();
  }
}
