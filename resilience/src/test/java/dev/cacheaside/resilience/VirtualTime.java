package dev.cacheaside.resilience;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.testing.SchedulerClock;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Virtual time for a {@link ResilientCacheStore}: its scheduler (the timer of its time limits, its
 * background probe, its replay) and its circuit breaker (open wait, sliding window, call
 * durations) all read one clock that moves only when the test says. {@link #lag} moves the
 * durations' clock alone, as a JVM that lost time while its timer could not run.
 */
final class VirtualTime {
  final VirtualTimeScheduler scheduler = VirtualTimeScheduler.create();
  /** What call durations are measured with; ahead of the scheduler by the lag so far. */
  private final AtomicLong wallNanos = new AtomicLong();

  /** The default breaker configuration, on this virtual time. */
  CircuitBreakerConfig breakerConfig() {
    return CircuitBreakerConfig.from(ResilientCacheStore.DEFAULT_CIRCUIT_BREAKER_CONFIG)
        .clock(new SchedulerClock(scheduler))
        .currentTimestampFunction(clock -> wallNanos.get(), TimeUnit.NANOSECONDS)
        .build();
  }

  /** A builder of a decorator of {@code store} on this virtual time, other options default. */
  ResilientCacheStore.Builder builder(CacheStore store) {
    return ResilientCacheStore.builder(store).scheduler(scheduler)
        .circuitBreakerConfig(breakerConfig());
  }

  /** Time passes: timers due meanwhile run, and call durations grow. */
  void advance(Duration duration) {
    wallNanos.addAndGet(duration.toNanos());
    scheduler.advanceTimeBy(duration);
  }

  /** This JVM loses {@code duration}: calls in flight take longer, but no timer ran meanwhile. */
  void lag(Duration duration) {
    wallNanos.addAndGet(duration.toNanos());
  }
}
