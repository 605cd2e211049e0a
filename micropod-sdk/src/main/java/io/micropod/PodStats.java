package io.micropod;

/**
 * A snapshot of a pod's resource use: the container's, from its cgroup v2 files in the guest, and
 * the guest VM's. Container figures are 0 once its main process exited. Network figures are the
 * pod's: the container shares the guest's network namespace, so they are the guest's
 * {@code /proc/net/dev} counters summed over every interface but {@code lo}; they count since the
 * VM booted and keep counting after the container exited.
 *
 * @param cpuUsageMicros CPU time the container used, microseconds ({@code cpu.stat usage_usec})
 * @param memoryUsageBytes the container's memory now, bytes ({@code memory.current})
 * @param memoryLimitBytes the container's memory limit, bytes; 0 when unlimited
 * @param ioReadBytes bytes the container read from block devices
 * @param ioWriteBytes bytes the container wrote to block devices
 * @param vmMemoryTotalBytes the guest's {@code MemTotal}, bytes
 * @param vmMemoryAvailableBytes the guest's {@code MemAvailable}, bytes
 * @param vmLoad1 the guest's 1-minute load average
 * @param oomKills how often the OOM killer killed a process of the container
 * @param netRxBytes bytes the pod received over the network
 * @param netRxPackets packets the pod received over the network
 * @param netTxBytes bytes the pod sent over the network
 * @param netTxPackets packets the pod sent over the network
 */
public record PodStats(long cpuUsageMicros, long memoryUsageBytes, long memoryLimitBytes,
    long ioReadBytes, long ioWriteBytes, long vmMemoryTotalBytes, long vmMemoryAvailableBytes,
    double vmLoad1, long oomKills, long netRxBytes, long netRxPackets, long netTxBytes,
    long netTxPackets) {}
