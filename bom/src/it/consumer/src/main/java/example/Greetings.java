package example;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/**
 * A cache-aside read in front of a stand-in for a database: what an application on the published
 * artifacts writes. {@link #main} reads once against the Redis named by CACHE_ASIDE_REDIS_URI.
 */
public final class Greetings implements AutoCloseable {
  private final RedisClient client;
  private final RedisCacheStore store;
  private final CacheAside<String, String> cache;
  private final AtomicInteger loads = new AtomicInteger();

  public Greetings(String redisUri) {
    client = RedisClient.create(redisUri);
    store = RedisCacheStore.create(client);
    cache = CacheAside.<String, String>builder("greetings")
        .store(store)
        .codec(Codec.utf8())
        .ttl(Duration.ofMinutes(1))
        .build();
  }

  /** The greeting for {@code name}: from Redis, or "loaded" (and stored) on a miss. */
  public Mono<String> greeting(String name) {
    return cache.cacheAside(name, n -> Mono.fromSupplier(() -> {
      loads.incrementAndGet();
      return "hello, " + n;
    }));
  }

  /** How many reads had to load. */
  public int loads() {
    return loads.get();
  }

  @Override
  public void close() {
    store.close();
    client.shutdown();
  }

  public static void main(String[] args) {
    String uri = System.getenv().getOrDefault("CACHE_ASIDE_REDIS_URI", "redis://127.0.0.1:6379");
    try (Greetings greetings = new Greetings(uri)) {
      System.out.println(greetings.greeting(args.length > 0 ? args[0] : "world").block(Duration.ofSeconds(10)));
    }
  }
}
