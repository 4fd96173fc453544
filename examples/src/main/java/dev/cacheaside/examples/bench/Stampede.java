package dev.cacheaside.examples.bench;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * A cold-key stampede: every instance's read is subscribed by {@code callers} concurrent callers
 * at once, on the parallel scheduler, as requests arriving together at separate services.
 */
final class Stampede {
  /**
   * One stampede's database loads, each caller's latency in nanoseconds, and (where the
   * benchmark sees the caches) the instances' lease waits and how many waiting steps a lease-end
   * notification cut short.
   */
  record Outcome(long loads, long[] latencyNanos, long leaseWaits, long leaseWakeups) {
    Outcome(long loads, long[] latencyNanos) {
      this(loads, latencyNanos, 0, 0);
    }
  }

  private final Sinks.Empty<Void> allArrived = Sinks.empty();
  private final AtomicInteger arrived = new AtomicInteger();

  /**
   * Completes once every caller of {@link #run} has subscribed its read. A loader that waits for
   * it makes "all callers arrived while the key was cold" hold on a slow machine too, so the count
   * of loads does not depend on how fast callers happen to be scheduled.
   */
  Mono<Void> allArrived() {
    return allArrived.asMono();
  }

  /**
   * Subscribes each instance's read {@code callers} times at once, waits for all of them (one
   * minute at most) and returns each caller's latency in nanoseconds, from its subscription to its
   * value.
   */
  long[] run(List<? extends Supplier<? extends Mono<?>>> instances, int callers) {
    int total = instances.size() * callers;
    long[] latencies = new long[total];
    AtomicInteger slot = new AtomicInteger();
    Flux.fromIterable(instances)
        .flatMap(read -> Flux.range(0, callers).flatMap(i -> Mono.defer(() -> {
          long start = System.nanoTime();
          if (arrived.incrementAndGet() == total) {
            allArrived.tryEmitEmpty();
          }
          return read.get()
              .doOnNext(v -> latencies[slot.getAndIncrement()] = System.nanoTime() - start);
        }).subscribeOn(Schedulers.parallel()), callers), instances.size())
        .blockLast(Duration.ofMinutes(1));
    return latencies;
  }

  /** {@code "wakeups / waits"} summed over the rounds. */
  static String wakeupCell(List<Outcome> rounds) {
    long waits = 0;
    long wakeups = 0;
    for (Outcome outcome : rounds) {
      waits += outcome.leaseWaits();
      wakeups += outcome.leaseWakeups();
    }
    return wakeups + " / " + waits;
  }

  /**
   * Table cells for rounds of one stampede: the medians over rounds of loads, p50 and p99 latency
   * in milliseconds, as {@code "loads | p50 | p99"}.
   */
  static String medianCells(List<Outcome> rounds) {
    double[] loads = new double[rounds.size()];
    double[] p50 = new double[rounds.size()];
    double[] p99 = new double[rounds.size()];
    for (int r = 0; r < rounds.size(); r++) {
      Outcome outcome = rounds.get(r);
      loads[r] = outcome.loads();
      p50[r] = Stats.percentileMicros(outcome.latencyNanos(), 50) / 1000;
      p99[r] = Stats.percentileMicros(outcome.latencyNanos(), 99) / 1000;
    }
    return String.format(Locale.ROOT, "%.0f | %.1f | %.1f", Stats.median(loads), Stats.median(p50),
        Stats.median(p99));
  }
}
