package dev.cacheaside.core;

import dev.cacheaside.core.spi.StoreState;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.stats.NearCacheStats;
import java.util.concurrent.atomic.LongAdder;

/** The live counters behind {@link CacheStats}; LongAdders because every read bumps one. */
final class StatsCounter {
  final LongAdder hits = new LongAdder();
  final LongAdder negativeHits = new LongAdder();
  final LongAdder staleHits = new LongAdder();
  final LongAdder misses = new LongAdder();
  final LongAdder loads = new LongAdder();
  final LongAdder loadFailures = new LongAdder();
  final LongAdder totalLoadTimeNanos = new LongAdder();
  final LongAdder coalesced = new LongAdder();
  final LongAdder leaseWaits = new LongAdder();
  final LongAdder leaseWakeups = new LongAdder();
  final LongAdder leasesLost = new LongAdder();
  final LongAdder storeErrors = new LongAdder();
  final LongAdder corruptEntries = new LongAdder();
  final LongAdder foreignEntries = new LongAdder();
  final LongAdder otherVersionEntries = new LongAdder();
  final LongAdder uncachedValues = new LongAdder();
  final LongAdder invalidationFailures = new LongAdder();
  final LongAdder refreshes = new LongAdder();
  final LongAdder refreshFailures = new LongAdder();
  final LongAdder totalRefreshLeadMillis = new LongAdder();
  final LongAdder nearHits = new LongAdder();
  final LongAdder nearMisses = new LongAdder();
  final LongAdder invalidationMessages = new LongAdder();
  final LongAdder nearFlushes = new LongAdder();

  /** Counts one caller's outcome. */
  void count(Outcome<?> outcome) {
    counter(outcome.kind()).increment();
  }

  /** Counts {@code n} callers' outcomes of one kind (a bulk window's batch). */
  void count(Outcome.Kind kind, long n) {
    if (n > 0) {
      counter(kind).add(n);
    }
  }

  private LongAdder counter(Outcome.Kind kind) {
    return switch (kind) {
      case HIT -> hits;
      case NEGATIVE_HIT -> negativeHits;
      case STALE_HIT -> staleHits;
      case LOADED -> misses;
    };
  }

  /** The counters now, with the two gauges the engine reads from its maps. */
  CacheStats snapshot(long readsInFlight, long refreshesInFlight, StoreState storeState,
      NearCacheStats nearGauges) {
    return CacheStats.builder()
        .hits(hits.sum())
        .negativeHits(negativeHits.sum())
        .staleHits(staleHits.sum())
        .misses(misses.sum())
        .loads(loads.sum())
        .loadFailures(loadFailures.sum())
        .totalLoadTimeNanos(totalLoadTimeNanos.sum())
        .coalesced(coalesced.sum())
        .leaseWaits(leaseWaits.sum())
        .leaseWakeups(leaseWakeups.sum())
        .leasesLost(leasesLost.sum())
        .storeErrors(storeErrors.sum())
        .corruptEntries(corruptEntries.sum())
        .foreignEntries(foreignEntries.sum())
        .otherVersionEntries(otherVersionEntries.sum())
        .uncachedValues(uncachedValues.sum())
        .invalidationFailures(invalidationFailures.sum())
        .refreshes(refreshes.sum())
        .refreshFailures(refreshFailures.sum())
        .totalRefreshLeadMillis(totalRefreshLeadMillis.sum())
        .readsInFlight(readsInFlight)
        .refreshesInFlight(refreshesInFlight)
        .storeState(storeState)
        .nearCache(nearGauges == NearCacheStats.NONE ? nearGauges : new NearCacheStats(
            nearHits.sum(), nearMisses.sum(), invalidationMessages.sum(), nearFlushes.sum(),
            nearGauges.size(), nearGauges.bypassing()))
        .build();
  }
}
