package io.micropod;

/**
 * A snapshot of a pod's resource use: the container's, from its cgroup v2 files in the guest, and
 * the guest VM's. Container figures are 0 once its main process exited.
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
 */
public record PodStats(long cpuUsageMicros, long memoryUsageBytes, long memoryLimitBytes,
    long ioReadBytes, long ioWriteBytes, long vmMemoryTotalBytes, long vmMemoryAvailableBytes,
    double vmLoad1, long oomKills) {}
