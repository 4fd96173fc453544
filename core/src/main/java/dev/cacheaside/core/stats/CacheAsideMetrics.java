package dev.cacheaside.core.stats;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;

/**
 * Publishes a cache's {@link CacheStats} to Micrometer (an optional dependency of this module).
 * The meters read the live counters when scraped; nothing is recorded on the read path.
 *
 * <pre>{@code
 * CacheAsideMetrics.of(products).bindTo(registry);
 * }</pre>
 *
 * <p>Meters, each tagged {@code cache=<name>}: {@code cache.gets} with {@code result} =
 * {@code hit}, {@code negative_hit}, {@code stale_hit}, {@code miss}; {@code cache.loads} with
 * {@code result} = {@code success}, {@code failure}; {@code cache.load.duration} (total, seconds);
 * {@code cache.coalesced}; {@code cache.lease.waits}; {@code cache.lease.lost};
 * {@code cache.store.errors}; {@code cache.corrupt.entries}; {@code cache.skipped.entries} with
 * {@code reason} = {@code foreign}, {@code other_version}; {@code cache.uncached.values};
 * {@code cache.invalidation.failures}; {@code cache.refreshes} (background early refreshes) with
 * {@code result} = {@code success}, {@code failure}; {@code cache.refresh.lead} (seconds between
 * successful refreshes and the expiries they pre-empted, total: divide its rate by the rate of
 * successful refreshes for the mean lead time); the gauges {@code cache.reads.in.flight} and
 * {@code cache.store.state} (0 up, 1 degraded, 2 down: {@code StoreState}). With a near cache
 * ({@link NearCacheStats}): {@code cache.near.gets} with {@code result} = {@code hit},
 * {@code miss}; {@code cache.near.invalidation.messages}; {@code cache.near.flushes}; the gauges
 * {@code cache.near.size} and {@code cache.near.bypassing} (1 while the tier is bypassed).
 *
 * @since 0.1
 */
public final class CacheAsideMetrics implements MeterBinder {
  private final CacheStatsSource cache;
  private final Tags tags;

  private CacheAsideMetrics(CacheStatsSource cache, Iterable<Tag> extraTags) {
    this.cache = Objects.requireNonNull(cache, "cache must not be null");
    this.tags = Tags.of("cache", cache.name())
        .and(Objects.requireNonNull(extraTags, "extraTags must not be null"));
  }

  /** The meters of {@code cache} (a {@code CacheAside}), tagged with its name. */
  public static CacheAsideMetrics of(CacheStatsSource cache) {
    return new CacheAsideMetrics(cache, Tags.empty());
  }

  /** The meters of {@code cache}, tagged with its name and {@code extraTags}. */
  public static CacheAsideMetrics of(CacheStatsSource cache, Iterable<Tag> extraTags) {
    return new CacheAsideMetrics(cache, extraTags);
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    counter(registry, "cache.gets", "result", "hit", CacheStats::hits);
    counter(registry, "cache.gets", "result", "negative_hit", CacheStats::negativeHits);
    counter(registry, "cache.gets", "result", "stale_hit", CacheStats::staleHits);
    counter(registry, "cache.gets", "result", "miss", CacheStats::misses);
    counter(registry, "cache.loads", "result", "success", s -> s.loads() - s.loadFailures());
    counter(registry, "cache.loads", "result", "failure", CacheStats::loadFailures);
    FunctionCounter.builder("cache.load.duration", cache,
            c -> c.stats().totalLoadTimeNanos() / (double) TimeUnit.SECONDS.toNanos(1))
        .tags(tags).baseUnit("seconds").description("time spent in loaders")
        .register(registry);
    counter(registry, "cache.coalesced", null, null, CacheStats::coalesced);
    counter(registry, "cache.lease.waits", null, null, CacheStats::leaseWaits);
    counter(registry, "cache.lease.wakeups", null, null, CacheStats::leaseWakeups);
    counter(registry, "cache.lease.lost", null, null, CacheStats::leasesLost);
    counter(registry, "cache.store.errors", null, null, CacheStats::storeErrors);
    counter(registry, "cache.corrupt.entries", null, null, CacheStats::corruptEntries);
    counter(registry, "cache.skipped.entries", "reason", "foreign", CacheStats::foreignEntries);
    counter(registry, "cache.skipped.entries", "reason", "other_version",
        CacheStats::otherVersionEntries);
    counter(registry, "cache.uncached.values", null, null, CacheStats::uncachedValues);
    counter(registry, "cache.invalidation.failures", null, null,
        CacheStats::invalidationFailures);
    counter(registry, "cache.refreshes", "result", "success",
        s -> s.refreshes() - s.refreshFailures());
    counter(registry, "cache.refreshes", "result", "failure", CacheStats::refreshFailures);
    FunctionCounter.builder("cache.refresh.lead", cache,
            c -> c.stats().totalRefreshLeadMillis() / (double) TimeUnit.SECONDS.toMillis(1))
        .tags(tags).baseUnit("seconds")
        .description("time by which early refreshes pre-empted expiry, summed")
        .register(registry);
    Gauge.builder("cache.reads.in.flight", cache, c -> c.stats().readsInFlight())
        .tags(tags).description("reads of distinct keys in flight in this JVM")
        .register(registry);
    Gauge.builder("cache.store.state", cache, c -> c.stats().storeState().ordinal())
        .tags(tags).description("the store's state: 0 up, 1 degraded, 2 down (reads skip it)")
        .register(registry);
    counter(registry, "cache.near.gets", "result", "hit", s -> s.nearCache().hits());
    counter(registry, "cache.near.gets", "result", "miss", s -> s.nearCache().misses());
    counter(registry, "cache.near.invalidation.messages", null, null,
        s -> s.nearCache().invalidationMessages());
    counter(registry, "cache.near.flushes", null, null, s -> s.nearCache().flushes());
    Gauge.builder("cache.near.size", cache, c -> c.stats().nearCache().size())
        .tags(tags).description("copies held by the near cache's local tier").register(registry);
    Gauge.builder("cache.near.bypassing", cache, c -> c.stats().nearCache().bypassing() ? 1 : 0)
        .tags(tags).description("1 while the near cache is bypassed (its invalidations lost)")
        .register(registry);
  }

  private void counter(MeterRegistry registry, String name, @Nullable String tagKey, @Nullable String tagValue,
      ToLongFunction<CacheStats> read) {
    Tags all = tagKey == null || tagValue == null ? tags : tags.and(tagKey, tagValue);
    FunctionCounter.builder(name, cache, c -> read.applyAsLong(c.stats()))
        .tags(all).register(registry);
  }
}
