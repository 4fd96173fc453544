package dev.cacheaside.core.stats;

import dev.cacheaside.core.spi.StoreState;
import java.util.Arrays;
import java.util.Locale;
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
 * gauges ({@link #readsInFlight()}, {@link #refreshesInFlight()}, {@link #storeState()}) are the
 * state at the moment of the snapshot and are not subtracted.
 *
 * @since 0.1
 */
public final class CacheStats {
  /** The values, by name; the order is that of {@link #values}. */
  private enum Name {
    HITS, NEGATIVE_HITS, STALE_HITS, MISSES, LOADS, LOAD_FAILURES, TOTAL_LOAD_TIME_NANOS,
    COALESCED, LEASE_WAITS, LEASE_WAKEUPS, LEASES_LOST, STORE_ERRORS, CORRUPT_ENTRIES,
    FOREIGN_ENTRIES, OTHER_VERSION_ENTRIES, UNCACHED_VALUES, INVALIDATION_FAILURES, REFRESHES,
    REFRESH_FAILURES, TOTAL_REFRESH_LEAD_MILLIS, READS_IN_FLIGHT, REFRESHES_IN_FLIGHT;

    boolean gauge() {
      return this == READS_IN_FLIGHT || this == REFRESHES_IN_FLIGHT;
    }
  }

  private static final Name[] NAMES = Name.values();
  private static final CacheStats EMPTY = builder().build();

  private final long[] values;
  private final StoreState storeState;
  private final NearCacheStats nearCache;

  private CacheStats(long[] values, StoreState storeState, NearCacheStats nearCache) {
    this.values = values;
    this.storeState = storeState;
    this.nearCache = nearCache;
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
    return values[Name.HITS.ordinal()];
  }

  /** Reads answered "not found" from a cached negative entry. */
  public long negativeHits() {
    return values[Name.NEGATIVE_HITS.ordinal()];
  }

  /** Reads answered with a value past its logical expiry but within the stale grace (while
   * another caller refreshed it, or because the loader failed). */
  public long staleHits() {
    return values[Name.STALE_HITS.ordinal()];
  }

  /** Reads that found no usable value in the store. */
  public long misses() {
    return values[Name.MISSES.ordinal()];
  }

  /** Calls of a loader (one per key per flight, however many callers waited). */
  public long loads() {
    return values[Name.LOADS.ordinal()];
  }

  /** Loader calls that ended in an error. */
  public long loadFailures() {
    return values[Name.LOAD_FAILURES.ordinal()];
  }

  /** Time spent in loaders, successful or not, in nanoseconds. */
  public long totalLoadTimeNanos() {
    return values[Name.TOTAL_LOAD_TIME_NANOS.ordinal()];
  }

  /** Reads that joined a read or load already in flight in this JVM. */
  public long coalesced() {
    return values[Name.COALESCED.ordinal()];
  }

  /** Reads that found another caller's lease and waited for its value. */
  public long leaseWaits() {
    return values[Name.LEASE_WAITS.ordinal()];
  }

  /** Waiting steps cut short because the store announced that the lease ended
   * ({@code CacheStore.leaseEnded}); the other steps ended at their backoff timer. Few of them
   * against {@link #leaseWaits()} on a store that announces means the announcements are lost. A
   * wake-up may also come from an earlier holder's end (its lease passed to another holder before
   * the look): the look then finds the lease held again and waits on. */
  public long leaseWakeups() {
    return values[Name.LEASE_WAKEUPS.ordinal()];
  }

  /** Stores refused because the lease was gone: a write's invalidation (a stale set prevented), an
   * expired lease, or a takeover; or because another application wrote its value at the key while
   * the lease was held (the store ended the lease and left that value). */
  public long leasesLost() {
    return values[Name.LEASES_LOST.ordinal()];
  }

  /** Store operations that failed (the read went on to the loader). */
  public long storeErrors() {
    return values[Name.STORE_ERRORS.ordinal()];
  }

  /** Entries that could not be decoded (treated as misses and deleted). */
  public long corruptEntries() {
    return values[Name.CORRUPT_ENTRIES.ordinal()];
  }

  /**
   * Values found under this cache's keys that are not this library's envelope (another
   * application wrote them): served around (the loader answers), never deleted nor overwritten.
   */
  public long foreignEntries() {
    return values[Name.FOREIGN_ENTRIES.ordinal()];
  }

  /**
   * Entries of another format or schema version (a rolling deploy: the other version's
   * instances wrote them): served around, never deleted nor overwritten.
   */
  public long otherVersionEntries() {
    return values[Name.OTHER_VERSION_ENTRIES.ordinal()];
  }

  /** Loaded values not cached because they exceeded the size limit. */
  public long uncachedValues() {
    return values[Name.UNCACHED_VALUES.ordinal()];
  }

  /** Invalidations that failed after their write succeeded. */
  public long invalidationFailures() {
    return values[Name.INVALIDATION_FAILURES.ordinal()];
  }

  /** Background early refreshes started (the lease was won and the loader called; also counted in
   * {@link #loads()}). */
  public long refreshes() {
    return values[Name.REFRESHES.ordinal()];
  }

  /** Background refreshes whose loader failed or that outlived their lease (the old value kept). */
  public long refreshFailures() {
    return values[Name.REFRESH_FAILURES.ordinal()];
  }

  /** Over refreshes that loaded a value: how long before the old entry's expiry the new value was
   * loaded, summed, in milliseconds (a late refresh adds zero). */
  public long totalRefreshLeadMillis() {
    return values[Name.TOTAL_REFRESH_LEAD_MILLIS.ordinal()];
  }

  /** A gauge: reads of distinct keys in flight in this JVM when the snapshot was taken. */
  public long readsInFlight() {
    return values[Name.READS_IN_FLIGHT.ordinal()];
  }

  /** A gauge: background refreshes in flight in this JVM when the snapshot was taken. */
  public long refreshesInFlight() {
    return values[Name.REFRESHES_IN_FLIGHT.ordinal()];
  }

  /** What the store said of its health when the snapshot was taken (a gauge). */
  public StoreState storeState() {
    return storeState;
  }

  /** The near cache's counters and gauges; {@link NearCacheStats#NONE} without one. */
  public NearCacheStats nearCache() {
    return nearCache;
  }

  /** Reads answered by the cache (fresh, negative or stale) plus misses. */
  public long requests() {
    return hits() + negativeHits() + staleHits() + misses();
  }

  /** The share of reads answered from the cache, 1.0 when there were none. */
  public double hitRate() {
    long requests = requests();
    return requests == 0 ? 1.0 : (double) (hits() + negativeHits() + staleHits()) / requests;
  }

  /** Mean time of a loader call in nanoseconds, 0 when there were none. */
  public double averageLoadPenaltyNanos() {
    return loads() == 0 ? 0.0 : (double) totalLoadTimeNanos() / loads();
  }

  /**
   * Mean time between a successful early refresh and the expiry it pre-empted, in millis; 0 when
   * there was none.
   */
  public double averageRefreshLeadMillis() {
    long succeeded = refreshes() - refreshFailures();
    return succeeded <= 0 ? 0.0 : (double) totalRefreshLeadMillis() / succeeded;
  }

  /**
   * The counters of this snapshot minus those of an earlier one: what happened in between. The
   * gauges are this snapshot's.
   */
  public CacheStats minus(CacheStats earlier) {
    Objects.requireNonNull(earlier, "earlier must not be null");
    long[] difference = values.clone();
    for (Name name : NAMES) {
      if (!name.gauge()) {
        difference[name.ordinal()] -= earlier.values[name.ordinal()];
      }
    }
    return new CacheStats(difference, storeState, nearCache.minus(earlier.nearCache));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheStats other && Arrays.equals(values, other.values)
        && storeState == other.storeState && nearCache.equals(other.nearCache);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.hashCode(values) + storeState.hashCode()) + nearCache.hashCode();
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("CacheStats[");
    for (Name name : NAMES) {
      String words = name.name().toLowerCase(Locale.ROOT);
      text.append(name.ordinal() == 0 ? "" : ", ").append(words).append('=')
          .append(values[name.ordinal()]);
    }
    return text.append(", store_state=").append(storeState).append(", near_cache=")
        .append(nearCache).append(']').toString();
  }

  /**
   * Builds a {@link CacheStats}; every value starts at zero. Not thread-safe.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final long[] values = new long[NAMES.length];
    private StoreState storeState = StoreState.UP;
    private NearCacheStats nearCache = NearCacheStats.NONE;

    private Builder() {}

    /** Sets {@link CacheStats#hits()}. */
    public Builder hits(long n) {
      return set(Name.HITS, n);
    }

    /** Sets {@link CacheStats#negativeHits()}. */
    public Builder negativeHits(long n) {
      return set(Name.NEGATIVE_HITS, n);
    }

    /** Sets {@link CacheStats#staleHits()}. */
    public Builder staleHits(long n) {
      return set(Name.STALE_HITS, n);
    }

    /** Sets {@link CacheStats#misses()}. */
    public Builder misses(long n) {
      return set(Name.MISSES, n);
    }

    /** Sets {@link CacheStats#loads()}. */
    public Builder loads(long n) {
      return set(Name.LOADS, n);
    }

    /** Sets {@link CacheStats#loadFailures()}. */
    public Builder loadFailures(long n) {
      return set(Name.LOAD_FAILURES, n);
    }

    /** Sets {@link CacheStats#totalLoadTimeNanos()}. */
    public Builder totalLoadTimeNanos(long n) {
      return set(Name.TOTAL_LOAD_TIME_NANOS, n);
    }

    /** Sets {@link CacheStats#coalesced()}. */
    public Builder coalesced(long n) {
      return set(Name.COALESCED, n);
    }

    /** Sets {@link CacheStats#leaseWaits()}. */
    public Builder leaseWaits(long n) {
      return set(Name.LEASE_WAITS, n);
    }

    /** Sets {@link CacheStats#leaseWakeups()}. */
    public Builder leaseWakeups(long n) {
      return set(Name.LEASE_WAKEUPS, n);
    }

    /** Sets {@link CacheStats#leasesLost()}. */
    public Builder leasesLost(long n) {
      return set(Name.LEASES_LOST, n);
    }

    /** Sets {@link CacheStats#storeErrors()}. */
    public Builder storeErrors(long n) {
      return set(Name.STORE_ERRORS, n);
    }

    /** Sets {@link CacheStats#corruptEntries()}. */
    public Builder corruptEntries(long n) {
      return set(Name.CORRUPT_ENTRIES, n);
    }

    /** Sets {@link CacheStats#foreignEntries()}. */
    public Builder foreignEntries(long n) {
      return set(Name.FOREIGN_ENTRIES, n);
    }

    /** Sets {@link CacheStats#otherVersionEntries()}. */
    public Builder otherVersionEntries(long n) {
      return set(Name.OTHER_VERSION_ENTRIES, n);
    }

    /** Sets {@link CacheStats#uncachedValues()}. */
    public Builder uncachedValues(long n) {
      return set(Name.UNCACHED_VALUES, n);
    }

    /** Sets {@link CacheStats#invalidationFailures()}. */
    public Builder invalidationFailures(long n) {
      return set(Name.INVALIDATION_FAILURES, n);
    }

    /** Sets {@link CacheStats#refreshes()}. */
    public Builder refreshes(long n) {
      return set(Name.REFRESHES, n);
    }

    /** Sets {@link CacheStats#refreshFailures()}. */
    public Builder refreshFailures(long n) {
      return set(Name.REFRESH_FAILURES, n);
    }

    /** Sets {@link CacheStats#totalRefreshLeadMillis()}. */
    public Builder totalRefreshLeadMillis(long n) {
      return set(Name.TOTAL_REFRESH_LEAD_MILLIS, n);
    }

    /** Sets {@link CacheStats#readsInFlight()}. */
    public Builder readsInFlight(long n) {
      return set(Name.READS_IN_FLIGHT, n);
    }

    /** Sets {@link CacheStats#refreshesInFlight()}. */
    public Builder refreshesInFlight(long n) {
      return set(Name.REFRESHES_IN_FLIGHT, n);
    }

    private Builder set(Name name, long n) {
      values[name.ordinal()] = n;
      return this;
    }

    /** Sets {@link CacheStats#storeState()}; {@link StoreState#UP} when not set. */
    public Builder storeState(StoreState state) {
      storeState = Objects.requireNonNull(state, "state must not be null");
      return this;
    }

    /** Sets {@link CacheStats#nearCache()}; {@link NearCacheStats#NONE} when not set. */
    public Builder nearCache(NearCacheStats stats) {
      nearCache = Objects.requireNonNull(stats, "stats must not be null");
      return this;
    }

    /** The snapshot. */
    public CacheStats build() {
      return new CacheStats(values.clone(), storeState, nearCache);
    }
  }
}
