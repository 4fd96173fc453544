package dev.cacheaside.core.stats;

/**
 * Something with a name and a {@link CacheStats} snapshot: what {@link CacheAsideMetrics}
 * publishes. Every {@code CacheAside} is one.
 *
 * @since 0.1
 */
public interface CacheStatsSource {
  /** The name that tags the meters. */
  String name();

  /** A snapshot of the counters. */
  CacheStats stats();
}
