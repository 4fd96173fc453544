package dev.cacheaside.core;

import reactor.core.publisher.Mono;

/**
 * Wraps every loader call of a cache: a bulkhead that caps concurrent database loads, a time
 * limit, a trace span. Set with {@link CacheAsideBuilder#loadDecorator}; the cache applies it once
 * per load (one per key per flight, and once per bulk load), never on a cache hit.
 *
 * <pre>{@code
 * LoadBulkhead loads = LoadBulkhead.of("catalog-db", 16, Duration.ofSeconds(1));
 * CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *     .store(store).codec(codec)
 *     .loadDecorator(loads)
 *     .build();
 * }</pre>
 *
 * <p>The cache calls the loader function only when the Mono given to {@link #decorate} is
 * subscribed, so a decorator that delays that subscription delays the loader call itself. What
 * the decorated Mono signals is what the cache sees: a value or empty is a load result (and is
 * cached), an error is a load failure (never cached; a stale value within grace is served instead
 * when there is one). A cancel of the decorated Mono must cancel {@code load} if it was
 * subscribed.
 *
 * @since 0.1
 */
public interface LoadDecorator {

  /** The decorator that returns every load unchanged (the default). */
  LoadDecorator NONE = new LoadDecorator() {
    @Override
    public <T> Mono<T> decorate(Mono<T> load) {
      return load;
    }

    @Override
    public String toString() {
      return "LoadDecorator.NONE";
    }
  };

  /**
   * Returns the Mono the cache subscribes to in place of {@code load}. It subscribes to
   * {@code load} at most once per subscription of its own.
   *
   * @param load a deferred loader call; nothing happens until it is subscribed
   * @param <T> the loaded type
   */
  <T> Mono<T> decorate(Mono<T> load);
}
