package dev.cacheaside.core;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Tells BlockHound (when an application or test installs it) which short waits inside this
 * library's dependencies are not blocking I/O. Loaded by BlockHound's service loader; BlockHound
 * is an optional dependency and this class is never touched without it.
 *
 * <p>Caffeine takes its eviction lock for a few microseconds of maintenance after writes
 * ({@code performCleanUp}, and {@code lock} when a writer finds the write buffer full) and to
 * clear the cache (a near cache's flush, on the event loop that heard the generation bump or the
 * lost stream); under contention the lock may park, which BlockHound would report from a
 * non-blocking thread. Reported, the error escaped the flush midway, and the pub/sub connection
 * that carried the message was reset.
 *
 * @since 0.1
 */
public final class CacheAsideBlockHoundIntegration implements BlockHoundIntegration {
  /** Used by the service loader. */
  public CacheAsideBlockHoundIntegration() {}

  @Override
  public void applyTo(BlockHound.Builder builder) {
    for (String method : new String[] {"performCleanUp", "lock", "clear"}) {
      builder.allowBlockingCallsInside("com.github.benmanes.caffeine.cache.BoundedLocalCache",
          method);
    }
  }
}
