package dev.cacheaside.core.stats;

/**
 * The near cache's part of a {@link CacheStats} snapshot ({@link CacheStats#nearCache()}); all
 * zero for a cache without a near cache.
 *
 * @param hits reads answered from the local tier, without a store call (they are also counted as
 *     the cache's hits)
 * @param misses reads the local tier could not answer (no live copy, or bypassed)
 * @param invalidationMessages changes announced by the store's invalidation stream, this cache's
 *     or not
 * @param flushes times the local tier was emptied at once: the stream broke or came back, or the
 *     generation moved
 * @param size a gauge: the copies held, about
 * @param bypassing a gauge: whether the local tier is bypassed now, since the stream is down
 * @since 0.1
 */
public record NearCacheStats(long hits, long misses, long invalidationMessages, long flushes,
    long size, boolean bypassing) {

  /** All zero: no near cache. */
  public static final NearCacheStats NONE = new NearCacheStats(0, 0, 0, 0, 0, false);

  /** The counters of this snapshot minus those of an earlier one; the gauges are this one's. */
  public NearCacheStats minus(NearCacheStats earlier) {
    return new NearCacheStats(hits - earlier.hits, misses - earlier.misses,
        invalidationMessages - earlier.invalidationMessages, flushes - earlier.flushes, size,
        bypassing);
  }
}
