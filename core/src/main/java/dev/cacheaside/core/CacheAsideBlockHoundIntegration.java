package dev.cacheaside.core;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Tells BlockHound (when an application or test installs it) which short waits inside this
 * library's dependencies are not blocking I/O. Loaded by BlockHound's service loader; BlockHound
 * is an optional dependency and this class is never touched without it.
 *
 * <p>Caffeine takes its eviction lock for a few microseconds of maintenance after writes; under
 * contention the lock may park, which BlockHound would report from a non-blocking thread.
 *
 * @since 0.1
 */
public final class CacheAsideBlockHoundIntegration implements BlockHoundIntegration {
  /** Used by the service loader. */
  public CacheAsideBlockHoundIntegration() {}

  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside(
        "com.github.benmanes.caffeine.cache.BoundedLocalCache", "performCleanUp");
  }
}
