package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import org.jspecify.annotations.Nullable;

import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;
import reactor.core.scheduler.Scheduler;

/** The validated configuration of one cache, as {@link CacheAsideBuilder} documents it. */
record CacheSettings<K, V>(
    String name,
    CacheStore store,
    Codec<V> codec,
    Function<? super K, String> keyFormat,
    Duration ttl,
    double ttlJitter,
    Duration negativeTtl,
    Duration staleGrace,
    boolean leases,
    Duration leaseTtl,
    Duration leaseWait,
    Duration leaseBackoffMin,
    Duration leaseBackoffMax,
    boolean shareReads,
    int maxValueBytes,
    int schemaVersion,
    Duration generationRefresh,
    Clock clock,
    Scheduler scheduler,
    LoadDecorator loadDecorator,
    Duration loadTimeout,
    AbandonedReads abandonedReads,
    Duration storeTimeout,
    InvalidationRetry invalidationRetry,
    Bulk bulk,
    Refresh refresh,
    @Nullable NearCache nearCache) {

  /** These settings on another store (the near cache's view of the given one). */
  CacheSettings<K, V> withStore(CacheStore other) {
    return new CacheSettings<>(name, other, codec, keyFormat, ttl, ttlJitter, negativeTtl,
        staleGrace, leases, leaseTtl, leaseWait, leaseBackoffMin, leaseBackoffMax, shareReads,
        maxValueBytes, schemaVersion, generationRefresh, clock, scheduler, loadDecorator,
        loadTimeout, abandonedReads, storeTimeout, invalidationRetry, bulk, refresh, nearCache);
  }

  /** The options of {@link CacheAside#cacheAsideAll}. */
  record Bulk(int windowSize, Duration windowTime, int maxLoadChunk, int concurrency,
      boolean failOnLoadError) {}

  /** The options of early refresh ({@link CacheAsideBuilder#earlyRefresh}). */
  record Refresh(EarlyRefresh policy, Scheduler scheduler, Duration backoffMin,
      Duration backoffMax) {}
}
