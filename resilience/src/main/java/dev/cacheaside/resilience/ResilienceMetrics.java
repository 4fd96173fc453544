package dev.cacheaside.resilience;

import io.github.resilience4j.micrometer.tagged.TaggedBulkheadMetricsPublisher;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetricsPublisher;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;

/**
 * Publishes a {@link ResilientCacheStore} and a {@link LoadBulkhead} to Micrometer. The meters
 * read live counters when scraped; nothing is recorded on the call path.
 *
 * <pre>{@code
 * ResilienceMetrics.of(store).bindTo(registry);
 * ResilienceMetrics.of(loads).bindTo(registry);
 * CacheAsideMetrics.of(products).bindTo(registry);   // stale serves: cache.gets{result=stale_hit}
 * }</pre>
 *
 * <p>For a store, tagged {@code store=<name>}: {@code cache.store.timeouts},
 * {@code cache.store.skipped} with {@code reason} = {@code circuit_open} (the breaker skipped
 * the call) or {@code recovering} (a read held back while owed invalidations are replayed),
 * {@code cache.store.failures}, {@code cache.store.slow.excused} (slow calls not held against the
 * store because this JVM lagged), {@code cache.invalidations} with {@code result} =
 * {@code queued}, {@code replayed}, {@code overflowed} (covered by a generation bump), {@code lost}
 * or {@code unflushed} (given up by {@code close()}), the gauge
 * {@code cache.invalidations.pending}, {@code cache.generation.bumps}; and Resilience4j's own
 * meters of the circuit breaker ({@code resilience4j.circuitbreaker.*}, its state among them).
 * Those include a timer of calls, which Resilience4j records through its event publisher: bound,
 * every store call publishes an event (see README, "Figures", for what that costs).
 *
 * <p>For a bulkhead, tagged {@code bulkhead=<name>}: {@code cache.load.bulkhead.waited},
 * {@code cache.load.bulkhead.rejected}, the gauge {@code cache.load.bulkhead.waiting}, and
 * Resilience4j's {@code resilience4j.bulkhead.*}.
 *
 * @since 0.1
 */
public final class ResilienceMetrics implements MeterBinder {
  private final @Nullable ResilientCacheStore store;
  private final @Nullable LoadBulkhead bulkhead;

  private ResilienceMetrics(@Nullable ResilientCacheStore store,
      @Nullable LoadBulkhead bulkhead) {
    this.store = store;
    this.bulkhead = bulkhead;
  }

  /** The store's counters and its circuit breaker's meters. */
  public static ResilienceMetrics of(ResilientCacheStore store) {
    return new ResilienceMetrics(Objects.requireNonNull(store, "store must not be null"), null);
  }

  /** The bulkhead's counters and Resilience4j's bulkhead meters. */
  public static ResilienceMetrics of(LoadBulkhead bulkhead) {
    return new ResilienceMetrics(null,
        Objects.requireNonNull(bulkhead, "bulkhead must not be null"));
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    if (store != null) {
      bindStore(registry, store);
    }
    if (bulkhead != null) {
      bindBulkhead(registry, bulkhead);
    }
  }

  private static void bindStore(MeterRegistry registry, ResilientCacheStore store) {
    Tags tags = Tags.of("store", store.name());
    counter(registry, store, "cache.store.timeouts", tags, ResilienceStats::timeouts);
    counter(registry, store, "cache.store.skipped", tags.and("reason", "circuit_open"),
        ResilienceStats::skippedCalls);
    counter(registry, store, "cache.store.skipped", tags.and("reason", "recovering"),
        ResilienceStats::heldBackReads);
    counter(registry, store, "cache.store.failures", tags, ResilienceStats::failedCalls);
    counter(registry, store, "cache.store.slow.excused", tags, ResilienceStats::slowCallsExcused);
    counter(registry, store, "cache.invalidations", tags.and("result", "queued"),
        ResilienceStats::invalidationsQueued);
    counter(registry, store, "cache.invalidations", tags.and("result", "replayed"),
        ResilienceStats::invalidationsReplayed);
    counter(registry, store, "cache.invalidations", tags.and("result", "overflowed"),
        ResilienceStats::invalidationsOverflowed);
    counter(registry, store, "cache.invalidations", tags.and("result", "lost"),
        ResilienceStats::invalidationsLost);
    counter(registry, store, "cache.invalidations", tags.and("result", "unflushed"),
        ResilienceStats::invalidationsUnflushed);
    counter(registry, store, "cache.generation.bumps", tags, ResilienceStats::generationBumps);
    Gauge.builder("cache.invalidations.pending", store, ResilientCacheStore::pendingInvalidations)
        .tags(tags).description("invalidations queued until the store answers again")
        .register(registry);
    new TaggedCircuitBreakerMetricsPublisher(registry).publishMetrics(store.circuitBreaker());
  }

  private static void counter(MeterRegistry registry, ResilientCacheStore store, String name,
      Tags tags, ToLongFunction<ResilienceStats> read) {
    FunctionCounter.builder(name, store, s -> read.applyAsLong(s.stats())).tags(tags)
        .register(registry);
  }

  private static void bindBulkhead(MeterRegistry registry, LoadBulkhead bulkhead) {
    Tags tags = Tags.of("bulkhead", bulkhead.bulkhead().getName());
    FunctionCounter.builder("cache.load.bulkhead.waited", bulkhead, LoadBulkhead::waitedLoads)
        .tags(tags).description("loads that waited for a permit").register(registry);
    FunctionCounter.builder("cache.load.bulkhead.rejected", bulkhead, LoadBulkhead::rejectedLoads)
        .tags(tags).description("loads that got no permit within the wait").register(registry);
    Gauge.builder("cache.load.bulkhead.waiting", bulkhead, LoadBulkhead::waitingLoads)
        .tags(tags).description("loads waiting for a permit").register(registry);
    new TaggedBulkheadMetricsPublisher(registry).publishMetrics(bulkhead.bulkhead());
  }
}
