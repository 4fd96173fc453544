package dev.cacheaside.core;

/**
 * The order in which {@link CacheAside#cacheAsideAll} emits its results.
 *
 * @since 0.1
 */
public enum BulkOrder {
  /**
   * As answered (the default): hits of a window first, as soon as its multi-get returns, then each
   * loaded chunk as it is stored; windows overlap. Lowest latency and memory.
   */
  COMPLETION,

  /**
   * In the order the keys were requested, one result per requested key, duplicates included.
   * A window's results wait for its slowest key, and later windows' results wait for earlier
   * windows (at most the configured windows in flight are buffered).
   */
  REQUEST
}
