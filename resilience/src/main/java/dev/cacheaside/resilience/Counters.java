package dev.cacheaside.resilience;

import java.util.concurrent.atomic.LongAdder;

/** The live counters behind {@link ResilienceStats}. */
final class Counters {
  final LongAdder timeouts = new LongAdder();
  final LongAdder skippedCalls = new LongAdder();
  final LongAdder heldBackReads = new LongAdder();
  final LongAdder failedCalls = new LongAdder();
  final LongAdder slowCallsExcused = new LongAdder();
  final LongAdder invalidationsQueued = new LongAdder();
  final LongAdder invalidationsReplayed = new LongAdder();
  final LongAdder invalidationsOverflowed = new LongAdder();
  final LongAdder invalidationsLost = new LongAdder();
  final LongAdder invalidationsUnflushed = new LongAdder();
  final LongAdder generationBumps = new LongAdder();

  ResilienceStats snapshot() {
    return new ResilienceStats(timeouts.sum(), skippedCalls.sum(), heldBackReads.sum(),
        failedCalls.sum(), slowCallsExcused.sum(), invalidationsQueued.sum(),
        invalidationsReplayed.sum(), invalidationsOverflowed.sum(), invalidationsLost.sum(),
        invalidationsUnflushed.sum(), generationBumps.sum());
  }
}
