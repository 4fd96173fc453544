package dev.cacheaside.core.stats;

import java.util.Objects;

/**
 * An immutable snapshot of one cache's counters since it was built, from
 * {@code CacheAside.stats()}.
 *
 * <p>A class with accessors rather than a record, so that a new counter is a new method and
 * breaks no caller. Build one with {@link #builder()} (for a test double of a cache, say); every
 * counter not set is zero.
 *
 * <p>Counters only grow; {@link #minus} gives what happened between two snapshots. The two
 * gauges ({@link #readsInFlight()}, {@link #refreshesInFlight()}) are the state at the moment of
 * the snapshot and are not subtracted.
 *
 * @since 0.1
 */
public final class CacheStats {
  private static final CacheStats EMPTY = builder().build();

  private final long hits;
  private final long negativeHits;
  private final long staleHits;
  private final long misses;
  private final long loads;
  private final long loadFailures;
  private final long totalLoadTimeNanos;
  private final long coalesced;
  private final long leaseWaits;
  private final long leaseWakeups;
  private final long leasesLost;
  private final long storeErrors;
  private final long corruptEntries;
  private final long uncachedValues;
  private final long invalidationFailures;
  private final long refreshes;
  private final long refreshFailures;
  private final long totalRefreshLeadMillis;
  private final long readsInFlight;
  private final long refreshesInFlight;

  private CacheStats(Builder b) {
    hits = b.hits;
    negativeHits = b.negativeHits;
    staleHits = b.staleHits;
    misses = b.misses;
    loads = b.loads;
    loadFailures = b.loadFailures;
    totalLoadTimeNanos = b.totalLoadTimeNanos;
    coalesced = b.coalesced;
    leaseWaits = b.leaseWaits;
    leaseWakeups = b.leaseWakeups;
    leasesLost = b.leasesLost;
    storeErrors = b.storeErrors;
    corruptEntries = b.corruptEntries;
    uncachedValues = b.uncachedValues;
    invalidationFailures = b.invalidationFailures;
    refreshes = b.refreshes;
    refreshFailures = b.refreshFailures;
    totalRefreshLeadMillis = b.totalRefreshLeadMillis;
    readsInFlight = b.readsInFlight;
    refreshesInFlight = b.refreshesInFlight;
  }

  /** All counters zero. */
  public static CacheStats empty() {
    return EMPTY;
  }

  /** A builder whose counters start at zero. */
  public static Builder builder() {
    return new Builder();
  }

  /** Reads answered from a fresh cached value. */
  public long hits() {
    return hits;
  }

  /** Reads answered "not found" from a cached negative entry. */
  public long negativeHits() {
    return negativeHits;
  }

  /**
   * Reads answered with a value past its logical expiry but within the stale grace (while
   * another caller refreshed it, or because the loader failed).
   */
  public long staleHits() {
    return staleHits;
  }

  /** Reads that found no usable value in the store. */
  public long misses() {
    return misses;
  }

  /** Calls of a loader (one per key per flight, however many callers waited). */
  public long loads() {
    return loads;
  }

  /** Loader calls that ended in an error. */
  public long loadFailures() {
    return loadFailures;
  }

  /** Time spent in loaders, successful or not, in nanoseconds. */
  public long totalLoadTimeNanos() {
    return totalLoadTimeNanos;
  }

  /** Reads that joined a read or load already in flight in this JVM. */
  public long coalesced() {
    return coalesced;
  }

  /** Reads that found another caller's lease and waited for its value. */
  public long leaseWaits() {
    return leaseWaits;
  }

  /**
   * Waiting steps cut short because the store announced that the lease ended
   * ({@code CacheStore.leaseEnded}); the other steps ended at their backoff timer. Few of them
   * against {@link #leaseWaits()} on a store that announces means the announcements are lost. A
   * wake-up may also come from an earlier holder's end (its lease passed to another holder before
   * the look): the look then finds the lease held again and waits on.
   */
  public long leaseWakeups() {
    return leaseWakeups;
  }

  /**
   * Stores refused because the lease was gone: a write's invalidation (a stale set prevented), an
   * expired lease, or a takeover.
   */
  public long leasesLost() {
    return leasesLost;
  }

  /** Store operations that failed (the read went on to the loader). */
  public long storeErrors() {
    return storeErrors;
  }

  /** Entries that could not be decoded (treated as misses and deleted). */
  public long corruptEntries() {
    return corruptEntries;
  }

  /** Loaded values not cached because they exceeded the size limit. */
  public long uncachedValues() {
    return uncachedValues;
  }

  /** Invalidations that failed after their write succeeded. */
  public long invalidationFailures() {
    return invalidationFailures;
  }

  /**
   * Background early refreshes started (the lease was won and the loader called; also counted in
   * {@link #loads()}).
   */
  public long refreshes() {
    return refreshes;
  }

  /** Background refreshes whose loader failed or that outlived their lease (the old value kept). */
  public long refreshFailures() {
    return refreshFailures;
  }

  /**
   * Over refreshes that loaded a value: how long before the old entry's expiry the new value was
   * loaded, summed, in milliseconds (a late refresh adds zero).
   */
  public long totalRefreshLeadMillis() {
    return totalRefreshLeadMillis;
  }

  /** A gauge: reads of distinct keys in flight in this JVM when the snapshot was taken. */
  public long readsInFlight() {
    return readsInFlight;
  }

  /** A gauge: background refreshes in flight in this JVM when the snapshot was taken. */
  public long refreshesInFlight() {
    return refreshesInFlight;
  }

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

  /**
   * The counters of this snapshot minus those of an earlier one: what happened in between. The
   * gauges are this snapshot's.
   */
  public CacheStats minus(CacheStats earlier) {
    Objects.requireNonNull(earlier, "earlier must not be null");
    return builder()
        .hits(hits - earlier.hits)
        .negativeHits(negativeHits - earlier.negativeHits)
        .staleHits(staleHits - earlier.staleHits)
        .misses(misses - earlier.misses)
        .loads(loads - earlier.loads)
        .loadFailures(loadFailures - earlier.loadFailures)
        .totalLoadTimeNanos(totalLoadTimeNanos - earlier.totalLoadTimeNanos)
        .coalesced(coalesced - earlier.coalesced)
        .leaseWaits(leaseWaits - earlier.leaseWaits)
        .leaseWakeups(leaseWakeups - earlier.leaseWakeups)
        .leasesLost(leasesLost - earlier.leasesLost)
        .storeErrors(storeErrors - earlier.storeErrors)
        .corruptEntries(corruptEntries - earlier.corruptEntries)
        .uncachedValues(uncachedValues - earlier.uncachedValues)
        .invalidationFailures(invalidationFailures - earlier.invalidationFailures)
        .refreshes(refreshes - earlier.refreshes)
        .refreshFailures(refreshFailures - earlier.refreshFailures)
        .totalRefreshLeadMillis(totalRefreshLeadMillis - earlier.totalRefreshLeadMillis)
        .readsInFlight(readsInFlight)
        .refreshesInFlight(refreshesInFlight)
        .build();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheStats s && hits == s.hits && negativeHits == s.negativeHits
        && staleHits == s.staleHits && misses == s.misses && loads == s.loads
        && loadFailures == s.loadFailures && totalLoadTimeNanos == s.totalLoadTimeNanos
        && coalesced == s.coalesced && leaseWaits == s.leaseWaits
        && leaseWakeups == s.leaseWakeups && leasesLost == s.leasesLost
        && storeErrors == s.storeErrors && corruptEntries == s.corruptEntries
        && uncachedValues == s.uncachedValues && invalidationFailures == s.invalidationFailures
        && refreshes == s.refreshes && refreshFailures == s.refreshFailures
        && totalRefreshLeadMillis == s.totalRefreshLeadMillis
        && readsInFlight == s.readsInFlight && refreshesInFlight == s.refreshesInFlight;
  }

  @Override
  public int hashCode() {
    return Objects.hash(hits, negativeHits, staleHits, misses, loads, loadFailures,
        totalLoadTimeNanos, coalesced, leaseWaits, leaseWakeups, leasesLost, storeErrors,
        corruptEntries, uncachedValues, invalidationFailures, refreshes, refreshFailures,
        totalRefreshLeadMillis, readsInFlight, refreshesInFlight);
  }

  @Override
  public String toString() {
    return "CacheStats[hits=" + hits + ", negativeHits=" + negativeHits + ", staleHits="
        + staleHits + ", misses=" + misses + ", loads=" + loads + ", loadFailures="
        + loadFailures + ", totalLoadTimeNanos=" + totalLoadTimeNanos + ", coalesced="
        + coalesced + ", leaseWaits=" + leaseWaits + ", leaseWakeups=" + leaseWakeups
        + ", leasesLost=" + leasesLost + ", storeErrors=" + storeErrors + ", corruptEntries="
        + corruptEntries + ", uncachedValues=" + uncachedValues + ", invalidationFailures="
        + invalidationFailures + ", refreshes=" + refreshes + ", refreshFailures="
        + refreshFailures + ", totalRefreshLeadMillis=" + totalRefreshLeadMillis
        + ", readsInFlight=" + readsInFlight + ", refreshesInFlight=" + refreshesInFlight + "]";
  }

  /**
   * Builds a {@link CacheStats}; every counter starts at zero. Not thread-safe.
   *
   * @since 0.1
   */
  public static final class Builder {
    private long hits;
    private long negativeHits;
    private long staleHits;
    private long misses;
    private long loads;
    private long loadFailures;
    private long totalLoadTimeNanos;
    private long coalesced;
    private long leaseWaits;
    private long leaseWakeups;
    private long leasesLost;
    private long storeErrors;
    private long corruptEntries;
    private long uncachedValues;
    private long invalidationFailures;
    private long refreshes;
    private long refreshFailures;
    private long totalRefreshLeadMillis;
    private long readsInFlight;
    private long refreshesInFlight;

    private Builder() {}

    /** Sets {@link CacheStats#hits()}. */
    public Builder hits(long n) {
      hits = n;
      return this;
    }

    /** Sets {@link CacheStats#negativeHits()}. */
    public Builder negativeHits(long n) {
      negativeHits = n;
      return this;
    }

    /** Sets {@link CacheStats#staleHits()}. */
    public Builder staleHits(long n) {
      staleHits = n;
      return this;
    }

    /** Sets {@link CacheStats#misses()}. */
    public Builder misses(long n) {
      misses = n;
      return this;
    }

    /** Sets {@link CacheStats#loads()}. */
    public Builder loads(long n) {
      loads = n;
      return this;
    }

    /** Sets {@link CacheStats#loadFailures()}. */
    public Builder loadFailures(long n) {
      loadFailures = n;
      return this;
    }

    /** Sets {@link CacheStats#totalLoadTimeNanos()}. */
    public Builder totalLoadTimeNanos(long n) {
      totalLoadTimeNanos = n;
      return this;
    }

    /** Sets {@link CacheStats#coalesced()}. */
    public Builder coalesced(long n) {
      coalesced = n;
      return this;
    }

    /** Sets {@link CacheStats#leaseWaits()}. */
    public Builder leaseWaits(long n) {
      leaseWaits = n;
      return this;
    }

    /** Sets {@link CacheStats#leaseWakeups()}. */
    public Builder leaseWakeups(long n) {
      leaseWakeups = n;
      return this;
    }

    /** Sets {@link CacheStats#leasesLost()}. */
    public Builder leasesLost(long n) {
      leasesLost = n;
      return this;
    }

    /** Sets {@link CacheStats#storeErrors()}. */
    public Builder storeErrors(long n) {
      storeErrors = n;
      return this;
    }

    /** Sets {@link CacheStats#corruptEntries()}. */
    public Builder corruptEntries(long n) {
      corruptEntries = n;
      return this;
    }

    /** Sets {@link CacheStats#uncachedValues()}. */
    public Builder uncachedValues(long n) {
      uncachedValues = n;
      return this;
    }

    /** Sets {@link CacheStats#invalidationFailures()}. */
    public Builder invalidationFailures(long n) {
      invalidationFailures = n;
      return this;
    }

    /** Sets {@link CacheStats#refreshes()}. */
    public Builder refreshes(long n) {
      refreshes = n;
      return this;
    }

    /** Sets {@link CacheStats#refreshFailures()}. */
    public Builder refreshFailures(long n) {
      refreshFailures = n;
      return this;
    }

    /** Sets {@link CacheStats#totalRefreshLeadMillis()}. */
    public Builder totalRefreshLeadMillis(long n) {
      totalRefreshLeadMillis = n;
      return this;
    }

    /** Sets {@link CacheStats#readsInFlight()}. */
    public Builder readsInFlight(long n) {
      readsInFlight = n;
      return this;
    }

    /** Sets {@link CacheStats#refreshesInFlight()}. */
    public Builder refreshesInFlight(long n) {
      refreshesInFlight = n;
      return this;
    }

    /** The snapshot. */
    public CacheStats build() {
      return new CacheStats(this);
    }
  }
}
