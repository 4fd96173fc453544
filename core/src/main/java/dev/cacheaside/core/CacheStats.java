package dev.cacheaside.core;

/**
 * An immutable snapshot of one {@link CacheAside}'s counters since it was built.
 *
 * @param hits reads answered from a fresh cached value
 * @param negativeHits reads answered "not found" from a cached negative entry
 * @param staleHits reads answered with a value past its logical expiry but within the stale
 *     grace (while another caller refreshed it, or because the loader failed)
 * @param misses reads that found no usable value in the store
 * @param loads calls of a loader (one per key per flight, however many callers waited)
 * @param loadFailures loader calls that ended in an error
 * @param totalLoadTimeNanos time spent in loaders, successful or not
 * @param coalesced reads that joined a read or load already in flight in this JVM
 * @param leaseWaits reads that found another caller's lease and waited for its value
 * @param leaseWakeups waiting steps cut short because the store announced that the lease ended
 *     ({@link CacheStore#leaseEnded}); the other steps ended at their backoff timer. Few of them
 *     against {@code leaseWaits} on a store that announces means the announcements are lost.
 *     A wake-up may also come from an earlier holder's end (its lease passed to another holder
 *     before the look): the look then finds the lease held again and waits on
 * @param leasesLost stores refused because the lease was gone: a write's invalidation (a stale
 *     set prevented), an expired lease, or a takeover
 * @param storeErrors store operations that failed (the read went on to the loader)
 * @param corruptEntries entries that could not be decoded (treated as misses and deleted)
 * @param uncachedValues loaded values not cached because they exceeded the size limit
 * @param invalidationFailures invalidations that failed after their write succeeded
 * @param refreshes background early refreshes started (the lease was won and the loader called;
 *     also counted in {@code loads})
 * @param refreshFailures background refreshes whose loader failed or that outlived their lease
 *     (the old value was kept)
 * @param totalRefreshLeadMillis over refreshes that loaded a value: how long before the old
 *     entry's expiry the new value was loaded, summed (a late refresh adds zero)
 */
public record CacheStats(
    long hits,
    long negativeHits,
    long staleHits,
    long misses,
    long loads,
    long loadFailures,
    long totalLoadTimeNanos,
    long coalesced,
    long leaseWaits,
    long leaseWakeups,
    long leasesLost,
    long storeErrors,
    long corruptEntries,
    long uncachedValues,
    long invalidationFailures,
    long refreshes,
    long refreshFailures,
    long totalRefreshLeadMillis) {

  /** All counters zero. */
  public static final CacheStats EMPTY =
      new CacheStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  /** Reads answered by the cache (fresh, negative or stale) plus misses. */
  public long requests() {
    return hits + negativeHits + staleHits + misses;
  }

  /** The share of reads answered from the cache, 1.0 when there were none. */
  public double hitRate() {
    long requests = requests();
    return requests == 0 ? 1.0 : (double) (hits + negativeHits + staleHits) / requests;
  }

  /** Mean time of a loader call in nanoseconds, 0 when there were none. */
  public double averageLoadPenaltyNanos() {
    return loads == 0 ? 0.0 : (double) totalLoadTimeNanos / loads;
  }

  /**
   * Mean time between a successful early refresh and the expiry it pre-empted, in millis; 0 when
   * there was none.
   */
  public double averageRefreshLeadMillis() {
    long succeeded = refreshes - refreshFailures;
    return succeeded <= 0 ? 0.0 : (double) totalRefreshLeadMillis / succeeded;
  }

  /** The counters of this snapshot minus those of an earlier one: what happened in between. */
  public CacheStats minus(CacheStats earlier) {
    return new CacheStats(
        hits - earlier.hits,
        negativeHits - earlier.negativeHits,
        staleHits - earlier.staleHits,
        misses - earlier.misses,
        loads - earlier.loads,
        loadFailures - earlier.loadFailures,
        totalLoadTimeNanos - earlier.totalLoadTimeNanos,
        coalesced - earlier.coalesced,
        leaseWaits - earlier.leaseWaits,
        leaseWakeups - earlier.leaseWakeups,
        leasesLost - earlier.leasesLost,
        storeErrors - earlier.storeErrors,
        corruptEntries - earlier.corruptEntries,
        uncachedValues - earlier.uncachedValues,
        invalidationFailures - earlier.invalidationFailures,
        refreshes - earlier.refreshes,
        refreshFailures - earlier.refreshFailures,
        totalRefreshLeadMillis - earlier.totalRefreshLeadMillis);
  }
}
