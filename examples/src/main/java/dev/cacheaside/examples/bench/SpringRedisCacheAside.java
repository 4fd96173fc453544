package dev.cacheaside.examples.bench;

import dev.cacheaside.examples.Product;
import dev.cacheaside.testing.TestRedis;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.Cache;
import org.springframework.data.redis.cache.RedisCacheConfiguration;
import org.springframework.data.redis.cache.RedisCacheManager;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.serializer.RedisSerializationContext.SerializationPair;
import org.springframework.data.redis.serializer.RedisSerializer;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Spring Data Redis's {@link RedisCacheManager} cache used as cache-aside, the way a Spring
 * application does it without annotations: a {@link LettuceConnectionFactory} on the same Redis
 * (shared native connection, the default), {@code RedisCacheManager.builder(factory)} with the
 * default non-locking cache writer, the same TTL and the same JSON codec as a value serializer.
 *
 * <p>Reads use the non-blocking {@link Cache#retrieve(Object, java.util.function.Supplier)} (Spring
 * 6.1+; {@code RedisCache} supports it when the factory is a reactive one, as Lettuce's is): an
 * async {@code GET}, and on a miss the loader's future, then an async {@code SET ... PX}. It has
 * no single flight and no lease: every caller that misses loads. A write evicts with
 * {@link Cache#evictIfPresent(Object)}, Spring's immediate eviction, which blocks on Redis and so
 * runs on {@code boundedElastic}. ({@code @CacheEvict} after the method uses {@code evict()},
 * which on a reactive driver is fire-and-forget: an even wider window for a stale entry.)
 */
final class SpringRedisCacheAside implements Contender {
  private final LettuceConnectionFactory connections;
  private final Cache cache;

  SpringRedisCacheAside(TestRedis redis, String namespace) {
    connections = new LettuceConnectionFactory(
        LettuceConnectionFactory.createRedisConfiguration(redis.uri()));
    // Connect at start, as an application context would before serving: the first use must not
    // open the shared connection on a request thread.
    connections.setEagerInitialization(true);
    connections.afterPropertiesSet(); // starts it (early start-up is the default)
    RedisCacheConfiguration config = RedisCacheConfiguration.defaultCacheConfig()
        .entryTtl(TTL)
        .disableCachingNullValues()
        .serializeValuesWith(SerializationPair.fromSerializer(new CodecSerializer()));
    RedisCacheManager manager = RedisCacheManager.builder(connections).cacheDefaults(config).build();
    manager.afterPropertiesSet();
    cache = Objects.requireNonNull(manager.getCache(namespace), "no cache " + namespace);
  }

  @Override
  public Mono<Product> read(long id, Function<Long, Mono<Product>> loader) {
    return Mono.fromFuture(() -> cache.retrieve(id, () -> loader.apply(id).toFuture()));
  }

  @Override
  public Mono<Void> writeThenInvalidate(long id, Mono<?> write) {
    return write.then(Mono.fromRunnable(() -> cache.evictIfPresent(id))
        .subscribeOn(Schedulers.boundedElastic())).then();
  }

  @Override
  public void close() {
    connections.destroy();
  }

  /** The comparison's JSON codec as a Spring {@link RedisSerializer}. */
  private static final class CodecSerializer implements RedisSerializer<Product> {
    @Override
    public byte[] serialize(@Nullable Product value) {
      return CODEC.encode(Objects.requireNonNull(value, "null values are not cached"));
    }

    @Override
    public @Nullable Product deserialize(byte @Nullable [] bytes) {
      return bytes == null ? null : CODEC.decode(bytes);
    }
  }
}
