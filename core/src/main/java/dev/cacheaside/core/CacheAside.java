package dev.cacheaside.core;

import java.util.Collection;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Cache-aside over a {@link CacheStore}: read the cache, on a miss load once, store, and
 * invalidate on write. Thread-safe; build one per kind of value and share it.
 *
 * <pre>{@code
 * CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *     .store(RedisCacheStore.create(redisClient))
 *     .codec(JsonCodec.of(Product.class))
 *     .ttl(Duration.ofMinutes(10)).ttlJitter(0.10)
 *     .negativeTtl(Duration.ofSeconds(30))
 *     .build();
 *
 * Mono<Product> one  = products.cacheAside(42L, repo::findById);   // empty Mono = not found
 * Mono<Product> save = products.writeThenInvalidate(42L, repo.save(p));
 * }</pre>
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li>One load per key at a time in this JVM, however many callers ask; with leases (the
 *       default) one load per key at a time across every instance sharing the store.</li>
 *   <li>No stale set: with leases, a load that began before {@link #invalidate} returned cannot
 *       store its result afterwards.</li>
 *   <li>Read-your-writes in one JVM: a read subscribed after {@link #invalidate} completed never
 *       joins a read that began before it.</li>
 *   <li>Errors are never cached; "not found" (an empty loader result) is cached for the negative
 *       TTL.</li>
 *   <li>A failing, slow-to-decode or corrupt cache never fails a read the loader can answer.</li>
 * </ul>
 *
 * @param <K> the key type; its string form (or the configured key format) names the entry
 * @param <V> the value type
 */
public interface CacheAside<K, V> {

  /**
   * Starts a builder for a cache named {@code name}; the name prefixes every key
   * ({@code name + ":" + key}) unless a key format is set, and tags the metrics.
   */
  static <K, V> CacheAsideBuilder<K, V> builder(String name) {
    return new CacheAsideBuilder<>(name);
  }

  /** The name given to the builder. */
  String name();

  /**
   * Reads {@code key} through the cache.
   *
   * <p>Nothing happens until subscription. On a fresh hit the cached value is emitted (or the
   * Mono completes empty for a cached "not found"). On a miss, {@code loader} is called once for
   * all concurrent subscribers of this key in this JVM (and, with leases, across instances);
   * its value is stored with the TTL (± jitter) and emitted; an empty result is stored as a
   * negative entry and the Mono completes empty; an error is emitted to every waiter and nothing
   * is stored. A subscriber's cancel does not cancel the load other subscribers wait on.
   *
   * @param key the key, not null
   * @param loader loads the value from the source of truth; an empty Mono means "not found"
   * @throws NullPointerException at once if {@code key} or {@code loader} is null
   * @throws IllegalArgumentException at once if the key format yields an empty string
   */
  Mono<V> cacheAside(K key, Function<? super K, ? extends Mono<V>> loader);

  /**
   * Deletes the cached entry of {@code key} and its lease, so that no load that began before can
   * store its value afterwards, and forgets any read of it in flight in this JVM. Completes when
   * the store confirmed the delete; errors with the store's error.
   */
  Mono<Void> invalidate(K key);

  /** {@link #invalidate} for many keys in as few store round trips as the store allows. */
  Mono<Void> invalidateAll(Collection<? extends K> keys);

  /**
   * Runs {@code write} (the database is the source of truth), then invalidates {@code key}.
   * Emits the write's result (or completes empty with it). If the write fails, nothing is
   * invalidated and its error is emitted. If the invalidation fails after the write succeeded,
   * it is retried a few times; if it still fails it is counted in
   * {@link CacheStats#invalidationFailures()} and logged, and the write's result is still emitted:
   * a committed write never fails because of the cache.
   */
  <R> Mono<R> writeThenInvalidate(K key, Mono<R> write);

  /**
   * Makes every entry of this cache unreachable at once by bumping its namespace generation, a
   * counter in the store that is part of every key. For when individual invalidations were lost
   * (an outage, a dropped notification connection). This instance switches at once; other
   * instances within their generation refresh interval (see
   * {@link CacheAsideBuilder#generationRefresh}). Old entries expire by their TTL.
   *
   * @return the new generation
   */
  Mono<Long> bumpGeneration();

  /** A snapshot of the counters. */
  CacheStats stats();
}
