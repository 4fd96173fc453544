package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;

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
    Refresh refresh) {

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
      boolean failOnLoadError) {}

  /** The options of early refresh ({@link CacheAsideBuilder#earlyRefresh}). */
  record Refresh(EarlyRefresh policy, Scheduler scheduler, Duration backoffMin,
      Duration backoffMax) {}
}
