package dev.cacheaside.spring.boot;

import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.stats.CacheStatsSource;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.cache.CacheMeterBinder;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;

/**
 * A cache's counters as Micrometer meters in Spring's cache conventions, the ones Spring Boot
 * gives its own caches (Caffeine, Redis): the tags {@code cache}, {@code cache.manager},
 * {@code name} (and {@code result} where there is one), so that in one registry, Prometheus
 * included, they share names, types and tag keys with an application's other caches.
 *
 * <ul>
 *   <li>{@code cache.gets} {@code result=hit} (answered from the cache: fresh, "not found" or
 *       stale) and {@code result=miss}; the answers from the cache in detail:
 *       {@code cache.gets.negative}, {@code cache.gets.stale};</li>
 *   <li>{@code cache.puts}: values stored after a load (about: loads less failures, values too big
 *       and stores refused for a lost lease);</li>
 *   <li>{@code cache.load} {@code result=success|failure} and {@code cache.load.duration} (total
 *       time in loaders, a time gauge), as Caffeine's; {@code cache.load.time}, a timer from the
 *       same counters, for the mean load latency (its rate of sum over rate of count);</li>
 *   <li>{@code cache.lease.waits}, {@code cache.lease.wakeups}, {@code cache.lease.lost},
 *       {@code cache.coalesced}, {@code cache.store.errors}, {@code cache.corrupt.entries},
 *       {@code cache.uncached.values}, {@code cache.invalidation.failures},
 *       {@code cache.refreshes} {@code result=success|failure}, and the gauge
 *       {@code cache.reads.in.flight}.</li>
 * </ul>
 * Nothing is recorded on the read path: each meter reads the cache's counters when scraped.
 *
 * @since 0.1
 */
public final class SpringCacheMetrics extends CacheMeterBinder<CacheStatsSource> {
  /** Caffeine's words for the meters both publish, so their descriptions agree too. */
  private static final String LOAD_DESCRIPTION = "The number of times cache lookup methods have"
      + " successfully loaded a new value or failed to load a new value, either because no value"
      + " was found or an exception was thrown while loading";

  private final CacheStatsSource cache;

  /**
   * The meters of {@code cache}, tagged {@code cache=<name>} and {@code tags} (Boot's registrar
   * passes {@code cache.manager} and {@code name}).
   */
  public SpringCacheMetrics(CacheStatsSource cache, Iterable<Tag> tags) {
    super(cache, cache.name(), tags);
    this.cache = cache;
  }

  /**
   * The meters of a cache that is not in a Spring cache manager (a {@code CacheAside} bean):
   * tagged {@code cache.manager=cacheAside}, {@code name=<name>} as the manager's caches are.
   */
  public static SpringCacheMetrics standalone(CacheStatsSource cache) {
    return new SpringCacheMetrics(cache, Tags.of("cache.manager", "cacheAside", "name", cache.name()));
  }

  private CacheStats stats() {
    return cache.stats();
  }

  @Override
  protected @Nullable Long size() {
    return null; // a shared remote store: no per-cache count without scanning it
  }

  @Override
  protected long hitCount() {
    CacheStats stats = stats();
    return stats.hits() + stats.negativeHits() + stats.staleHits();
  }

  @Override
  protected Long missCount() {
    return stats().misses();
  }

  @Override
  protected @Nullable Long evictionCount() {
    return null; // expiry and eviction happen in the store, unseen
  }

  @Override
  protected long putCount() {
    CacheStats stats = stats();
    return Math.max(0, stats.loads() - stats.loadFailures() - stats.uncachedValues()
        - stats.leasesLost());
  }

  @Override
  protected void bindImplementationSpecificMetrics(MeterRegistry registry) {
    Iterable<Tag> tags = getTagsWithCacheName();
    counter(registry, "cache.gets.negative", tags, CacheStats::negativeHits,
        "reads answered \"not found\" from a cached negative entry");
    counter(registry, "cache.gets.stale", tags, CacheStats::staleHits,
        "reads answered with a value past its expiry, within the stale grace");
    counter(registry, "cache.load", Tags.of(tags).and("result", "success"),
        s -> s.loads() - s.loadFailures(), LOAD_DESCRIPTION);
    counter(registry, "cache.load", Tags.of(tags).and("result", "failure"),
        CacheStats::loadFailures, LOAD_DESCRIPTION);
    TimeGauge.builder("cache.load.duration", cache, TimeUnit.NANOSECONDS,
            c -> c.stats().totalLoadTimeNanos())
        .tags(tags).description("The time the cache has spent loading new values")
        .register(registry);
    FunctionTimer.builder("cache.load.time", cache, c -> c.stats().loads(),
            c -> c.stats().totalLoadTimeNanos(), TimeUnit.NANOSECONDS)
        .tags(tags).description("loader calls and their time: the mean load latency")
        .register(registry);
    counter(registry, "cache.coalesced", tags, CacheStats::coalesced,
        "reads that joined a read or load in flight in this instance");
    counter(registry, "cache.lease.waits", tags, CacheStats::leaseWaits,
        "reads that waited for another caller's load");
    counter(registry, "cache.lease.wakeups", tags, CacheStats::leaseWakeups,
        "lease waits cut short by a lease-end notification");
    counter(registry, "cache.lease.lost", tags, CacheStats::leasesLost,
        "stores refused because the lease was gone (a stale set prevented)");
    counter(registry, "cache.store.errors", tags, CacheStats::storeErrors,
        "store calls that failed (the read went on to the loader)");
    counter(registry, "cache.corrupt.entries", tags, CacheStats::corruptEntries,
        "entries that could not be decoded (deleted and loaded again)");
    counter(registry, "cache.uncached.values", tags, CacheStats::uncachedValues,
        "loaded values not cached because they were too large");
    counter(registry, "cache.invalidation.failures", tags, CacheStats::invalidationFailures,
        "invalidations that failed after their write succeeded");
    counter(registry, "cache.refreshes", Tags.of(tags).and("result", "success"),
        s -> s.refreshes() - s.refreshFailures(), "background early refreshes");
    counter(registry, "cache.refreshes", Tags.of(tags).and("result", "failure"),
        CacheStats::refreshFailures, "background early refreshes");
    Gauge.builder("cache.reads.in.flight", cache, c -> c.stats().readsInFlight())
        .tags(tags).description("reads of distinct keys in flight in this instance")
        .register(registry);
  }

  private void counter(MeterRegistry registry, String name, Iterable<Tag> tags,
      ToLongFunction<CacheStats> read, String description) {
    FunctionCounter.builder(name, cache, c -> read.applyAsLong(c.stats()))
        .tags(tags).description(description).register(registry);
  }
}
