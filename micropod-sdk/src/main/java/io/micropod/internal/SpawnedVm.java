package io.micropod.internal;

import io.micropod.internal.vm.VmProcess;
import java.time.Instant;

/**
 * Step {@code vmm.spawn}'s result: the running VMM, when it was spawned (boot timings) and the
 * start's deadline ({@code startupTimeout} from the spawn), which the later steps' calls share.
 * An attached pod's VMM is the recorded process; it has no deadline.
 */
record SpawnedVm(VmProcess process, long spawnNanos, Instant deadline) {}
