package dev.cacheaside.core;

import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.stats.CacheStatsSource;
import java.util.Collection;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Cache-aside over a {@link dev.cacheaside.core.spi.CacheStore CacheStore}: read the cache, on a
 * miss load once, store, and invalidate on write. Thread-safe; build one per kind of value and
 * share it.
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
 * Flux<BulkResult<Long, Product>> many =
 *     products.cacheAsideAll(ids, BulkLoader.fromFlux(repo::findAllById, Product::id));
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
 * @since 0.1
 */
public interface CacheAside<K, V> extends CacheStatsSource {

  /**
   * Starts a builder for a cache named {@code name}; the name prefixes every key
   * ({@code name + ":" + key}) unless a key format is set, and tags the metrics.
   */
  static <K, V> CacheAsideBuilder<K, V> builder(String name) {
    return new CacheAsideBuilder<>(name);
  }

  /** The name given to the builder. */
  @Override
  String name();

  /**
   * Reads {@code key} through the cache.
   *
   * <p>Nothing happens until subscription. On a fresh hit the cached value is emitted (or the
   * Mono completes empty for a cached "not found"). On a miss, {@code loader} is called once for
   * all concurrent subscribers of this key in this JVM (and, with leases, across instances);
   * its value is stored with the TTL (± jitter) and emitted; an empty result is stored as a
   * negative entry and the Mono completes empty; an error is emitted to every waiter and nothing
   * is stored.
   *
   * <p>Bounded: every store call ends within the {@linkplain CacheAsideBuilder#storeTimeout store
   * timeout} (a store that does not answer is a miss), and the load within the
   * {@linkplain CacheAsideBuilder#loadTimeout load timeout} (past it every waiter gets a
   * {@code TimeoutException}, or the stale value within grace, and the lease is given back).
   *
   * <p>Cancel: a subscriber's cancel never cancels the read other subscribers wait on; when the
   * last of them cancels, the read is handled as {@link CacheAsideBuilder#abandonedReads} says
   * (by default, what is still queued is dropped and a loader already called finishes).
   *
   * <p>Context: concurrent callers of a key share one read, so the loader runs in the Reactor
   * {@code Context} of the subscriber that started it; the others' contexts are not seen. A
   * loader that reads something from the context (a tenant, a locale) must have it in the key:
   * {@code cacheAside(new TenantKey(tenant, id), k -> repo.find(k.tenant(), k.id()))}.
   *
   * @param key the key, not null
   * @param loader loads the value from the source of truth; an empty Mono means "not found"
   * @throws NullPointerException at once if {@code key} or {@code loader} is null
   * @throws IllegalArgumentException at once if the key format yields an empty string
   */
  Mono<V> cacheAside(K key, Function<? super K, ? extends Mono<V>> loader);

  /**
   * Reads a stream of keys through the cache in windows, with one store round trip per window
   * for its hits and one {@link BulkLoader} call per chunk of its misses. Results are emitted in
   * {@linkplain BulkOrder#COMPLETION completion order}; see
   * {@link #cacheAsideAll(Publisher, BulkLoader, BulkOrder)}.
   */
  Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys, BulkLoader<K, V> loader);

  /**
   * Reads a stream of keys through the cache in windows.
   *
   * <p>Nothing happens until subscription. The keys are cut into windows of at most
   * {@linkplain CacheAsideBuilder#bulkWindow the window size}, closed early by the window time.
   * Per window: duplicate keys are read once; one multi-get answers the hits; the misses join
   * reads of the same keys already in flight in this JVM (single-key or bulk), and the rest are
   * registered as in flight (a concurrent {@link #cacheAside} of one of them joins this load) and,
   * with leases, leased in one more round trip; the keys leased here are loaded with one
   * {@code loader} call per {@linkplain CacheAsideBuilder#bulkMaxLoadChunk chunk} and stored in
   * one batched write, each with the TTL ± jitter; keys the loader did not return are stored as
   * negative entries. Keys whose lease another instance holds are polled like
   * {@link #cacheAside} does (bounded by the lease wait); stale keys are refreshed by the caller
   * that wins their lease and served stale to the others.
   *
   * <p>Exactly one {@link BulkResult} per requested key (duplicates answered as often as they are
   * requested): the value, "not found", or the error that failed its load. A failing store read
   * turns that window into misses; a failing load fails only its chunk's keys (or the stream,
   * with {@link CacheAsideBuilder#bulkFailOnLoadError}) and caches nothing. A key the key format
   * rejects, or an error of {@code keys}, ends the stream with that error.
   *
   * <p>Backpressure: keys are requested as results are consumed; at most
   * {@linkplain CacheAsideBuilder#bulkConcurrency windows in flight} are read, loaded or waiting
   * to be consumed at a time. Cancelling stops taking keys; windows already started finish in the
   * background (their loads may be shared with other callers, and their leases are used or
   * released), and then leave the in-flight map.
   *
   * @param keys the keys, not null
   * @param loader loads the values of a chunk of missed keys
   * @param order the order of the results
   * @throws NullPointerException at once if an argument is null
   */
  Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      BulkOrder order);

  /**
   * Warms the cache: loads and stores the keys of {@code keys} that are not cached, through the
   * bulk path, so a deploy script or a start-up hook can fill the cache before traffic arrives.
   *
   * <pre>{@code
   * products.warm(repo.hottestIds(1_000), byIds, WarmOptions.defaults().withMaxConcurrentLoads(2))
   *     .doOnNext(p -> log.info("warming: {} warmed, {} skipped, {} failed",
   *         p.warmed(), p.skipped(), p.failed()))
   *     .last()
   *     .block(Duration.ofMinutes(5));   // in a start-up hook, before the server binds
   * }</pre>
   *
   * <p>Nothing happens until subscription. The keys are read exactly as
   * {@link #cacheAsideAll(Publisher, BulkLoader, BulkOrder) cacheAsideAll} reads them: in windows,
   * one multi-get per window, keys already cached skipped (not loaded, and not counted as the
   * cache's hits), the rest under leases and stored with compare-and-set, so a write whose
   * invalidation comes after a warm load began wins: the warm's older value is not stored. Keys
   * another caller or instance is loading are waited for, not loaded twice.
   *
   * <p>The database is protected: at most {@link WarmOptions#maxConcurrentLoads()} calls of
   * {@code loader} run at once (chunks, early refreshes and all), and at most
   * {@link WarmOptions#maxKeysPerSecond()} keys are taken from {@code keys} per second.
   *
   * <p>Emits a cumulative {@link WarmProgress} after each answered batch of keys (at least one,
   * {@link WarmProgress#NONE} for no keys), then completes. A failed load is counted in
   * {@link WarmProgress#failed()} and the warm goes on; a key the key format rejects, or an error
   * of {@code keys}, ends the Flux with that error. Cancelling stops taking keys; windows already
   * started finish (their loads may be shared with concurrent reads) and use or release their
   * leases, so no lease of the warm is left behind.
   *
   * @param keys the keys to warm, not null; pulled as the warm goes
   * @param loader loads the values of a chunk of keys
   * @param options the caps on concurrent loads and keys per second
   * @return the progress, as it goes
   * @throws NullPointerException at once if an argument is null
   */
  Flux<WarmProgress> warm(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      WarmOptions options);

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

  /**
   * The key the store holds {@code key}'s entry under now: its entry key in this cache's
   * namespace, under the current generation, as the engine makes it. For tools and tests that look
   * into the store (a Redis store's {@code valueKey(storeKey)} names the Redis key).
   *
   * @throws NullPointerException at once if {@code key} is null
   * @throws IllegalArgumentException at once if the key format rejects it
   */
  Mono<String> storeKey(K key);

  /** A snapshot of the counters. */
  @Override
  CacheStats stats();
}
