package dev.cacheaside.core;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.Exceptions;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;

/**
 * Counts failed store calls and says so in the log at WARN: the first failure after a quiet spell
 * at once, with its error, and while failures go on, one line with their count at most every
 * {@link #PERIOD_MILLIS}. Every failure is also logged at DEBUG. A store that fails is served
 * around (the loader answers), which is exactly why it must not fail silently.
 */
final class StoreErrorLog {
  /** The shortest time between two WARN lines of one cache. */
  static final long PERIOD_MILLIS = 10_000;

  private final Logger log;
  private final String cacheName;
  private final Scheduler clock;
  private final StatsCounter stats;
  private final LongAdder sinceReport = new LongAdder();
  private final AtomicLong nextReportAt = new AtomicLong(Long.MIN_VALUE);

  StoreErrorLog(String cacheName, Scheduler clock, StatsCounter stats) {
    this(cacheName, clock, stats, Log.CACHE);
  }

  StoreErrorLog(String cacheName, Scheduler clock, StatsCounter stats, Logger log) {
    this.log = log;
    this.cacheName = cacheName;
    this.clock = clock;
    this.stats = stats;
  }

  /** A store call failed; {@code what} names the key(s). */
  void failed(String operation, String what, Throwable e) {
    Exceptions.throwIfJvmFatal(e);
    stats.storeErrors.increment();
    sinceReport.increment();
    log.debug("cache '{}': store {} of {} failed: {}", cacheName, operation, what,
        e.toString());
    long now = clock.now(TimeUnit.MILLISECONDS);
    long due = nextReportAt.get();
    if (now >= due && nextReportAt.compareAndSet(due, now + PERIOD_MILLIS)) {
      long failures = sinceReport.sumThenReset();
      log.warn("cache '{}': {} store call(s) failed{} (the last: {} of {}: {}); reads are"
              + " answered by the loader and nothing is cached while the store fails",
          cacheName, failures, due == Long.MIN_VALUE ? "" : " in the last period", operation,
          what, e.toString());
    }
  }
}
