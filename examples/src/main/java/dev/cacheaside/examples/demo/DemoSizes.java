package dev.cacheaside.examples.demo;

import java.time.Duration;
import java.util.Objects;

/**
 * How big each section of the demo is. {@link #defaults()} is what README's command runs (about
 * 20 s after the servers started); tests pass smaller sizes.
 *
 * @param stampedeInstances cache instances (separate in-flight maps, as separate JVMs would have)
 *     sharing one Redis in the stampede
 * @param stampedeRequestsPerInstance concurrent reads of the cold key on each instance
 * @param slowLoad how long the stampede's loader takes
 * @param products rows of the PostgreSQL {@code product} table the bulk, mixed-load and outage
 *     sections read
 * @param bulkIds ids read by one {@code cacheAsideAll} call (at most {@code products})
 * @param bulkWindow keys per bulk window (the multi-get size)
 * @param mixedRequests requests of the mixed load
 * @param mixedConcurrency requests of the mixed load in flight at once
 * @param writePercent share of the mixed and outage loads' requests that are writes, 0..100
 * @param zipfExponent skew of the keys of the mixed and outage loads (1.0: classic Zipf)
 * @param outageRate requests per second of the outage load (open loop)
 * @param outageBefore how long the outage load runs before Redis is killed
 * @param outageDown how long Redis stays down
 * @param outageAfter how long the load runs after the restart (at least until the store has
 *     recovered, at most 20 s more)
 * @param refreshTtl the hot key's TTL in the early-refresh section
 * @param refreshLoad how long a load of the hot key takes
 * @param refreshTtls how many TTLs the hot key is read for
 * @param refreshReadsPerSecond reads of the hot key per second
 */
public record DemoSizes(
    int stampedeInstances,
    int stampedeRequestsPerInstance,
    Duration slowLoad,
    int products,
    int bulkIds,
    int bulkWindow,
    int mixedRequests,
    int mixedConcurrency,
    int writePercent,
    double zipfExponent,
    int outageRate,
    Duration outageBefore,
    Duration outageDown,
    Duration outageAfter,
    Duration refreshTtl,
    Duration refreshLoad,
    int refreshTtls,
    int refreshReadsPerSecond) {

  /** Checks the sizes at once, naming the bad one. */
  public DemoSizes {
    positive("stampedeInstances", stampedeInstances);
    positive("stampedeRequestsPerInstance", stampedeRequestsPerInstance);
    positive("products", products);
    positive("bulkIds", bulkIds);
    positive("bulkWindow", bulkWindow);
    positive("mixedRequests", mixedRequests);
    positive("mixedConcurrency", mixedConcurrency);
    positive("outageRate", outageRate);
    positive("refreshTtls", refreshTtls);
    positive("refreshReadsPerSecond", refreshReadsPerSecond);
    if (bulkIds > products) {
      throw new IllegalArgumentException("bulkIds (" + bulkIds + ") must not exceed products ("
          + products + ")");
    }
    if (writePercent < 0 || writePercent > 100) {
      throw new IllegalArgumentException("writePercent must be in 0..100 but was " + writePercent);
    }
    if (!(zipfExponent > 0 && Double.isFinite(zipfExponent))) {
      throw new IllegalArgumentException("zipfExponent must be finite and > 0 but was "
          + zipfExponent);
    }
    for (Duration d : new Duration[] {slowLoad, outageBefore, outageDown, outageAfter, refreshTtl,
        refreshLoad}) {
      Objects.requireNonNull(d, "durations must not be null");
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("durations must be positive but one was " + d);
      }
    }
    if (refreshLoad.compareTo(refreshTtl) >= 0) {
      throw new IllegalArgumentException("refreshLoad (" + refreshLoad
          + ") must be shorter than refreshTtl (" + refreshTtl + ")");
    }
  }

  /** The sizes of README's demo command. */
  public static DemoSizes defaults() {
    return new DemoSizes(4, 250, Duration.ofMillis(50), 10_000, 10_000, 500, 20_000, 64, 5, 1.0,
        1_000, Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2),
        Duration.ofSeconds(1), Duration.ofMillis(100), 4, 200);
  }

  private static void positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be > 0 but was " + value);
    }
  }
}
