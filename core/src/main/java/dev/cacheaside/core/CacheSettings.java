package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import org.jspecify.annotations.Nullable;

import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

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

  CacheSettings {
    if (leases && leaseBackoffMin.compareTo(leaseTtl) > 0) {
      throw new IllegalStateException("cache '" + name + "': leaseBackoff min " + leaseBackoffMin
          + " exceeds leaseTtl " + leaseTtl);
    }
  }

  /** The negative TTL when none is set: {@link CacheAsideDefaults#NEGATIVE_TTL}, at most ttl. */
  static Duration defaultNegativeTtl(Duration ttl) {
    Duration standard = CacheAsideDefaults.NEGATIVE_TTL;
    return standard.compareTo(ttl) < 0 ? standard : ttl;
  }

  /** The options of {@link CacheAside#cacheAsideAll}. */
  record Bulk(int windowSize, Duration windowTime, int maxLoadChunk, int concurrency,
      boolean failOnLoadError) {
    static final Bulk DEFAULT = new Bulk(CacheAsideDefaults.BULK_WINDOW_SIZE,
        CacheAsideDefaults.BULK_WINDOW_TIME, CacheAsideDefaults.BULK_MAX_LOAD_CHUNK,
        CacheAsideDefaults.BULK_CONCURRENCY, false);

    Bulk withWindow(int size, Duration time) {
      return new Bulk(size, time, maxLoadChunk, concurrency, failOnLoadError);
    }

    Bulk withMaxLoadChunk(int keys) {
      return new Bulk(windowSize, windowTime, keys, concurrency, failOnLoadError);
    }

    Bulk withConcurrency(int windows) {
      return new Bulk(windowSize, windowTime, maxLoadChunk, windows, failOnLoadError);
    }

    Bulk withFailOnLoadError(boolean fail) {
      return new Bulk(windowSize, windowTime, maxLoadChunk, concurrency, fail);
    }
  }

  /** The options of early refresh ({@link CacheAsideBuilder#earlyRefresh}). */
  record Refresh(EarlyRefresh policy, Scheduler scheduler, Duration backoffMin,
      Duration backoffMax) {
    /** A method, not a constant: {@code Schedulers.parallel()} is asked when a builder is made. */
    static Refresh defaults() {
      return new Refresh(EarlyRefresh.none(), Schedulers.parallel(),
          CacheAsideDefaults.REFRESH_BACKOFF_MIN, CacheAsideDefaults.REFRESH_BACKOFF_MAX);
    }

    Refresh withPolicy(EarlyRefresh other) {
      return new Refresh(other, scheduler, backoffMin, backoffMax);
    }

    Refresh withScheduler(Scheduler other) {
      return new Refresh(policy, other, backoffMin, backoffMax);
    }

    Refresh withBackoff(Duration min, Duration max) {
      return new Refresh(policy, scheduler, min, max);
    }
  }
}
