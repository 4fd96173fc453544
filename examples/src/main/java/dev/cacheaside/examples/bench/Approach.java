package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/** The ways of doing cache-aside that the comparison puts side by side. */
enum Approach {
  /** This library with its default settings on {@link RedisCacheStore}: leases on. */
  LIBRARY("cacheAside (default, leases)"),
  /** This library with {@code leases(false)}: single flight per instance only. */
  LIBRARY_NO_LEASES("cacheAside, leases(false)"),
  /** {@link TutorialCacheAside}: GET; on a miss query, SET EX; DEL after a write. */
  TUTORIAL("tutorial GET / SET EX"),
  /** {@link SpringRedisCacheAside}: Spring Data Redis's {@code RedisCache.retrieve}. */
  SPRING("Spring RedisCache.retrieve");

  private final String label;

  Approach(String label) {
    this.label = label;
  }

  /** How tables name it. */
  String label() {
    return label;
  }

  /** A new instance (its own Redis connections) of this approach on {@code namespace}. */
  Contender open(TestRedis redis, String namespace) {
    return switch (this) {
      case LIBRARY -> new Library(redis, namespace, true);
      case LIBRARY_NO_LEASES -> new Library(redis, namespace, false);
      case TUTORIAL -> new TutorialCacheAside(redis.client(), namespace);
      case SPRING -> new SpringRedisCacheAside(redis, namespace);
    };
  }

  /** The library as a user sets it up: one store (one connection) per service instance. */
  private static final class Library implements Contender {
    private final RedisCacheStore store;
    private final CacheAside<Long, Product> cache;

    Library(TestRedis redis, String namespace, boolean leases) {
      store = RedisCacheStore.create(redis.client());
      cache = CacheAside.<Long, Product>builder(namespace).store(store).codec(CODEC).ttl(TTL)
          .leases(leases).build();
    }

    @Override
    public Mono<Product> read(long id, Function<Long, Mono<Product>> loader) {
      return cache.cacheAside(id, loader);
    }

    @Override
    public Mono<Void> writeThenInvalidate(long id, Mono<?> write) {
      return cache.writeThenInvalidate(id, write).then();
    }

    @Override
    public void close() {
      store.close();
    }
  }
}
