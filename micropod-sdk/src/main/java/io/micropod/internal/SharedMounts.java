package io.micropod.internal;

import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import java.util.List;

/**
 * Step {@code mounts.share}'s result: a helper and a VM device per host mount, in the spec's order.
 * An attached pod knows only the helpers (from its record).
 */
record SharedMounts(List<RootfsShare> shares, List<VmConfig.MountDevice> devices) {
  static final SharedMounts NONE = new SharedMounts(List.of(), List.of());

  SharedMounts {
    shares = List.copyOf(shares);
    devices = List.copyOf(devices);
  }
}
