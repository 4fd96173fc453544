package dev.cacheaside.testing;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * BlockHound allowances for the drivers' own short locks, for every test JVM that uses this
 * module (the {@code redis} module ships the Lettuce part to applications too; this module cannot
 * depend on it, and its own cluster tests need it).
 *
 * <ul>
 *   <li>Netty 4.2's {@code AdaptivePoolingAllocator} takes a {@code StampedLock} write lock to
 *       free a magazine while it grows its magazine group: a few field updates, not I/O. Without
 *       this, BlockHound throws inside Lettuce's channel registration on an event loop, Lettuce
 *       swallows the error, and the connection hangs until its one-minute initialization
 *       timeout.</li>
 *   <li>Lettuce's endpoint {@code SharedLock} and the cluster connection cache's state lock are
 *       {@code ReentrantLock}s held for microseconds. If BlockHound throws from inside their
 *       {@code park}, the waiter's queue node is abandoned and the next {@code close()} hangs.
 *       Lambda names are those of the pinned Lettuce version (7.7).</li>
 *   <li>Reactor's {@code VirtualTimeScheduler} keeps its tasks in a {@code PriorityBlockingQueue}
 *       whose lock parks when two threads schedule at once (the test thread moving the clock, an
 *       event loop arming a store timer). Thrown from there, BlockHound's error escapes the
 *       scheduling call, the store call it would have bounded is never sent, and the test waits
 *       for a read that can no longer answer. Only the queue's own operations are allowed, not
 *       {@code take}, and not the scheduler's {@code drain} as a whole, which runs the tasks
 *       (BlockHound tells methods by name, so a timed {@code poll} is allowed with the plain one;
 *       neither the library nor the tests wait on this queue).</li>
 * </ul>
 *
 * <p>Registered through {@code META-INF/services}, which {@code blockhound-junit-platform} reads
 * when it installs BlockHound.
 */
public final class DriverBlockHoundIntegration implements BlockHoundIntegration {
  /** Used by the service loader. */
  public DriverBlockHoundIntegration() {}

  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside(
        "io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
    builder.allowBlockingCallsInside(
        "io.lettuce.core.cluster.PooledClusterConnectionProvider$NodeConnectionPostProcessor",
        "lambda$apply$4");
    for (String method : new String[] {"lambda$getWriteConnection$1",
        "lambda$getReadConnection$5", "getReadConnection", "resetFastConnectionCache",
        "setPartitions", "setReadFrom", "setAutoFlushCommands"}) {
      builder.allowBlockingCallsInside(
          "io.lettuce.core.cluster.PooledClusterConnectionProvider", method);
    }
    for (String method : new String[] {"incrementWriters", "doExclusive",
        "lockWritersExclusive"}) {
      builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", method);
    }
    for (String method : new String[] {"offer", "poll", "peek", "remove", "clear", "size"}) {
      builder.allowBlockingCallsInside("java.util.concurrent.PriorityBlockingQueue", method);
    }
  }
}
