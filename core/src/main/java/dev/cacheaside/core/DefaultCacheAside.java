package dev.cacheaside.core;

import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.stats.NearCacheStats;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The one implementation of {@link CacheAside}: a façade over the engine's floors (see
 * ARCHITECTURE.md). Reads go to {@link SingleRead} and {@link BulkRead}, warming to {@link BulkWarm}; invalidations are here,
 * since they are one store call and the forgetting of what is in flight.
 */
final class DefaultCacheAside<K, V> implements CacheAside<K, V> {
  private final CacheSettings<K, V> settings;
  private final Services<K, V> services;
  private final Namespace<K> namespace;
  private final SingleRead<K, V> reads;
  private final BulkRead<K, V> bulk;
  private final BulkWarm<K, V> warming;

  DefaultCacheAside(CacheSettings<K, V> given) {
    this.services = Services.of(given);
    this.settings = services.settings();
    this.namespace = services.namespace();
    this.reads = new SingleRead<>(services);
    this.bulk = new BulkRead<>(services);
    this.warming = new BulkWarm<>(services, bulk);
  }

  @Override
  public String name() {
    return settings.name();
  }

  @Override
  public CacheStats stats() {
    NearTier near = services.near();
    // The tier's gauges travel in a NearCacheStats; the counters fill it in the snapshot.
    return services.stats().snapshot(services.flights().size(),
        services.refresher().inflightCount(), settings.store().state(), near == null
            ? NearCacheStats.NONE : new NearCacheStats(0, 0, 0, 0, near.size(), near.bypassing()));
  }

  @Override
  public Mono<V> cacheAside(K key, Function<? super K, ? extends Mono<V>> loader) {
    Objects.requireNonNull(loader, "loader must not be null");
    return new CacheAsideCall<>(reads, services.stats(), key, namespace.entryKey(key), loader)
        .assembled();
  }

  @Override
  public Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys,
      BulkLoader<K, V> loader) {
    return bulk.read(keys, loader, BulkOrder.COMPLETION);
  }

  @Override
  public Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys,
      BulkLoader<K, V> loader, BulkOrder order) {
    return bulk.read(keys, loader, order);
  }

  @Override
  public Flux<WarmProgress> warm(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      WarmOptions options) {
    return warming.warm(keys, loader, options);
  }

  @Override
  public Mono<Void> invalidate(K key) {
    return delete(List.of(namespace.entryKey(key)));
  }

  @Override
  public Mono<Void> invalidateAll(Collection<? extends K> keys) {
    Objects.requireNonNull(keys, "keys must not be null");
    List<String> entryKeys = new ArrayList<>(keys.size());
    for (K key : keys) {
      entryKeys.add(namespace.entryKey(key));
    }
    return entryKeys.isEmpty() ? Mono.empty() : delete(entryKeys);
  }

  /**
   * Deletes the entries under the current generation, then forgets their reads and refreshes in
   * flight. The in-flight entries go before the completion signal travels on, so a read
   * subscribed once this Mono completed cannot join a read that began before the delete.
   */
  private Mono<Void> delete(List<String> entryKeys) {
    return namespace.generationForWrite().flatMap(generation -> {
      List<String> storeKeys = namespace.storeKeys(entryKeys, generation);
      Mono<Void> delete = storeKeys.size() == 1 ? settings.store().delete(storeKeys.get(0))
          : settings.store().delete(storeKeys);
      return OffStackErrors.of(delete.timeout(settings.storeTimeout(), settings.scheduler()),
              settings.scheduler())
          .doOnTerminate(() -> storeKeys.forEach(this::forget));
    });
  }

  private void forget(String storeKey) {
    services.flights().forget(storeKey);
    services.refresher().forget(storeKey);
  }

  @Override
  public <R> Mono<R> writeThenInvalidate(K key, Mono<R> write) {
    Objects.requireNonNull(write, "write must not be null");
    String entryKey = namespace.entryKey(key);
    Mono<Void> invalidation = delete(List.of(entryKey))
        .retryWhen(settings.invalidationRetry().toRetry(settings.scheduler()))
        .onErrorResume(e -> {
          services.stats().invalidationFailures.increment();
          Log.CACHE.error("cache '{}': invalidation of {} failed after its write succeeded; the"
              + " entry may be stale until its TTL: {}", settings.name(), entryKey, e.toString());
          return Mono.empty();
        });
    return write
        .flatMap(result -> invalidation.thenReturn(result))
        .switchIfEmpty(invalidation.then(Mono.empty()));
  }

  @Override
  public Mono<String> storeKey(K key) {
    String entryKey = namespace.entryKey(key);
    return namespace.generationForWrite().map(g -> namespace.storeKey(entryKey, g));
  }

  @Override
  public Mono<Long> bumpGeneration() {
    return namespace.bump();
  }

  @Override
  public String toString() {
    return "CacheAside[" + settings.name() + ", store=" + settings.store() + ", codec="
        + settings.codec() + "]";
  }
}
