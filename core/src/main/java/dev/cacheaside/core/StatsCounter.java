package dev.cacheaside.core;

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
  final LongAdder uncachedValues = new LongAdder();
  final LongAdder invalidationFailures = new LongAdder();
  final LongAdder refreshes = new LongAdder();
  final LongAdder refreshFailures = new LongAdder();
  final LongAdder totalRefreshLeadMillis = new LongAdder();

  CacheStats snapshot() {
    return new CacheStats(
        hits.sum(),
        negativeHits.sum(),
        staleHits.sum(),
        misses.sum(),
        loads.sum(),
        loadFailures.sum(),
        totalLoadTimeNanos.sum(),
        coalesced.sum(),
        leaseWaits.sum(),
        leaseWakeups.sum(),
        leasesLost.sum(),
        storeErrors.sum(),
        corruptEntries.sum(),
        uncachedValues.sum(),
        invalidationFailures.sum(),
        refreshes.sum(),
        refreshFailures.sum(),
        totalRefreshLeadMillis.sum());
  }
}
