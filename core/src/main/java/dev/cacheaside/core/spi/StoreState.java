package dev.cacheaside.core.spi;

/**
 * How a store says it is doing ({@link CacheStore#state()}): for health checks and metrics. The
 * cache reads around a store that is not {@link #UP} either way; this only reports it.
 *
 * @since 0.1
 */
public enum StoreState {
  /** Answering. */
  UP,
  /**
   * Answering in part: trying its way back after a failure, or owing work that it could not do
   * while it failed (invalidations to replay). Reads may skip it meanwhile.
   */
  DEGRADED,
  /** Not used: calls fail at once (an open circuit breaker), and reads go to the loader. */
  DOWN
}
