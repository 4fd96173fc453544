package dev.cacheaside.redis;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Allows the lock in Lettuce's {@code SharedLock}, which every command dispatch takes to count
 * writers on an endpoint: a {@code ReentrantLock} held for a few field updates, so contended
 * only briefly, synchronization rather than I/O. Many Reactor threads dispatching on one
 * connection at once make it park now and then; BlockHound then throws inside it, and an error
 * thrown there can leave the lock's writer count in exclusive mode, after which every dispatch on
 * that connection spins forever (seen as a hung test with a {@code parallel} thread at 100 % CPU
 * in {@code SharedLock.incrementWriters}; compare lettuce issues 3804 and 3880).
 *
 * <p>Registered through {@code META-INF/services}, which {@code blockhound-junit-platform} reads
 * when it installs BlockHound.
 */
public final class LettuceBlockHoundIntegration implements BlockHoundIntegration {
  @Override
  public void applyTo(BlockHound.Builder builder) {
    for (String method : new String[] {"incrementWriters", "decrementWriters", "doExclusive",
        "lockWritersExclusive", "unlockWritersExclusive"}) {
      builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", method);
    }
  }
}
