package dev.cacheaside.redis;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Tells BlockHound (when an application or test installs it) that Lettuce's short internal locks
 * (the connection endpoint's and the cluster connection cache's) are synchronization, not
 * blocking I/O. Loaded by BlockHound's service loader; BlockHound is
 * an optional dependency of this module.
 *
 * <p>Why it matters beyond noise: Lettuce guards each endpoint with a {@code SharedLock} built on
 * a {@code ReentrantLock}. Two non-blocking threads writing to one connection at the same moment
 * contend on it for microseconds. If BlockHound throws from inside the lock's {@code park}, the
 * waiter's queue node is abandoned in the lock, and the next {@code close()} (or write) waits on
 * it forever: a test JVM then hangs instead of failing. Allowing these methods keeps the
 * detection everywhere else.
 *
 * @since 0.1
 */
public final class LettuceBlockHoundIntegration implements BlockHoundIntegration {
  /** Used by the service loader. */
  public LettuceBlockHoundIntegration() {}

  @Override
  public void applyTo(BlockHound.Builder builder) {
    allow(builder, "io.lettuce.core.protocol.SharedLock",
        "incrementWriters", "doExclusive", "lockWritersExclusive");
    // The cluster connection provider's state lock guards its per-slot connection cache. Lambda
    // names are those of the pinned Lettuce version (7.7); a version bump must re-check them.
    allow(builder, "io.lettuce.core.cluster.PooledClusterConnectionProvider",
        "lambda$getWriteConnection$1", "lambda$getReadConnection$5", "getReadConnection",
        "resetFastConnectionCache", "setPartitions", "setReadFrom", "setAutoFlushCommands");
    allow(builder,
        "io.lettuce.core.cluster.PooledClusterConnectionProvider$NodeConnectionPostProcessor",
        "lambda$apply$4");
  }

  private static void allow(BlockHound.Builder builder, String type, String... methods) {
    for (String method : methods) {
      builder.allowBlockingCallsInside(type, method);
    }
  }
}
