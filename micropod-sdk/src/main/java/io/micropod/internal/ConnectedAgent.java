package io.micropod.internal;

import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.GuestInfo;

/**
 * Step {@code agent.connect}'s result: the agent client, once the agent answered its first
 * GetInfo, that answer, and when it came (boot timings; 0 for an attached pod).
 */
record ConnectedAgent(AgentClient client, GuestInfo info, long readyNanos) {}
