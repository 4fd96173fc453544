package dev.cacheaside.core;

/**
 * How {@link CacheAside#warm} may use the database: at most {@code maxConcurrentLoads}
 * {@link BulkLoader} calls at a time, and at most {@code maxKeysPerSecond} keys taken from the key
 * stream per second.
 *
 * <pre>{@code
 * WarmOptions options = WarmOptions.defaults()
 *     .withMaxConcurrentLoads(2)      // leave the pool to the traffic
 *     .withMaxKeysPerSecond(5_000);
 * }</pre>
 *
 * @param maxConcurrentLoads the most bulk loader calls in flight at once, positive; also the
 *     number of windows warmed at once
 * @param maxKeysPerSecond the most keys taken per second, positive; {@link #UNLIMITED} for no cap
 * @since 0.1
 */
public record WarmOptions(int maxConcurrentLoads, int maxKeysPerSecond) {
  /** The default cap on concurrent bulk loader calls. */
  public static final int DEFAULT_MAX_CONCURRENT_LOADS = 4;
  /** No cap on keys per second. */
  public static final int UNLIMITED = Integer.MAX_VALUE;

  /**
   * Checks the options.
   *
   * @throws IllegalArgumentException if either is not positive
   */
  public WarmOptions {
    Arguments.positive(maxConcurrentLoads, "maxConcurrentLoads");
    Arguments.positive(maxKeysPerSecond, "maxKeysPerSecond");
  }

  /**
   * {@value #DEFAULT_MAX_CONCURRENT_LOADS} concurrent loads, no rate cap.
   *
   * @return the default options
   */
  public static WarmOptions defaults() {
    return new WarmOptions(DEFAULT_MAX_CONCURRENT_LOADS, UNLIMITED);
  }

  /**
   * These options with another cap on concurrent loads.
   *
   * @param maxConcurrentLoads the most bulk loader calls in flight at once, positive
   * @return the new options
   */
  public WarmOptions withMaxConcurrentLoads(int maxConcurrentLoads) {
    return new WarmOptions(maxConcurrentLoads, maxKeysPerSecond);
  }

  /**
   * These options with another cap on keys per second.
   *
   * @param maxKeysPerSecond the most keys taken per second, positive
   * @return the new options
   */
  public WarmOptions withMaxKeysPerSecond(int maxKeysPerSecond) {
    return new WarmOptions(maxConcurrentLoads, maxKeysPerSecond);
  }
}
