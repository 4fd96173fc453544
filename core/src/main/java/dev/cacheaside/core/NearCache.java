package dev.cacheaside.core;

import java.time.Duration;
import java.util.Objects;

/**
 * The options of a near cache: a local tier in this JVM, on Caffeine, in front of the store
 * ({@link CacheAsideBuilder#nearCache}). A near hit is answered without a store call; a near miss
 * reads the store as without one and keeps the value if it is still current. Copies are dropped
 * when the store announces that their entry changed (the store's invalidation stream, see
 * {@code CacheStore.invalidations}), and all of them are dropped and bypassed while that stream
 * is down. Exactly one bound is given: a number of entries, or the bytes of their encoded values.
 *
 * <pre>{@code
 * CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *     .store(redisStore)
 *     .codec(JsonCodec.of(Product.class))
 *     .nearCache(NearCache.ofEntries(10_000).withMaxTtl(Duration.ofSeconds(30)))
 *     .build();
 * }</pre>
 *
 * @param maximumEntries the most entries kept, or 0 when bounded by bytes
 * @param maximumBytes the most bytes of encoded values kept, or 0 when bounded by entries
 * @param maxTtl the longest a copy is kept; a copy never outlives its entry's logical expiry
 * @since 0.1
 */
public record NearCache(long maximumEntries, long maximumBytes, Duration maxTtl) {
  /** The default {@link #maxTtl}: a bound on what a lost invalidation could cost. */
  public static final Duration DEFAULT_MAX_TTL = Duration.ofMinutes(1);

  /**
   * Checks the options.
   *
   * @throws IllegalArgumentException if not exactly one bound is positive, a bound is negative,
   *     or {@code maxTtl} is under one millisecond
   */
  public NearCache {
    Objects.requireNonNull(maxTtl, "maxTtl must not be null");
    if (maximumEntries < 0 || maximumBytes < 0 || (maximumEntries > 0) == (maximumBytes > 0)) {
      throw new IllegalArgumentException("give exactly one positive bound: maximumEntries was "
          + maximumEntries + ", maximumBytes was " + maximumBytes);
    }
    if (maxTtl.toMillis() < 1) {
      throw new IllegalArgumentException("maxTtl must be at least 1 ms but was " + maxTtl);
    }
  }

  /** At most {@code maximumEntries} copies, each kept at most {@link #DEFAULT_MAX_TTL}. */
  public static NearCache ofEntries(long maximumEntries) {
    return new NearCache(maximumEntries, 0, DEFAULT_MAX_TTL);
  }

  /** Copies of at most {@code maximumBytes} encoded bytes in all, each kept at most
   * {@link #DEFAULT_MAX_TTL}. */
  public static NearCache ofBytes(long maximumBytes) {
    return new NearCache(0, maximumBytes, DEFAULT_MAX_TTL);
  }

  /** These options with copies kept at most {@code maxTtl}. */
  public NearCache withMaxTtl(Duration maxTtl) {
    return new NearCache(maximumEntries, maximumBytes, maxTtl);
  }
}
