package dev.cacheaside.examples;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheStats;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * The demo (README's first command): runs the library's main claims against a real Redis, its own
 * embedded one unless {@code CACHE_ASIDE_REDIS_URI} names one, and prints one line per claim with
 * the numbers it measured. Exits 0.
 */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    RedisClient client = redis.client();
    System.out.printf(Locale.ROOT, "redis: %s at %s (%s)%n", redis.version(), redis.uri(),
        redis.managed() ? "started by the demo" : "from CACHE_ASIDE_REDIS_URI");
    List<RedisCacheStore> stores = new ArrayList<>();
    Function<Boolean, RedisCacheStore> newStore = ignored -> {
      RedisCacheStore store = RedisCacheStore.create(client);
      stores.add(store);
      return store;
    };
    String run = Long.toString(System.currentTimeMillis(), 36);
    JsonCodec<Product> codec = JsonCodec.of(Product.class);

    // 1. Cold-key stampede in one instance.
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("demo-" + run)
        .store(newStore.apply(true)).codec(codec).ttl(Duration.ofMinutes(5)).build();
    AtomicInteger loads = new AtomicInteger();
    Function<Long, Mono<Product>> slowLoader = id -> {
      loads.incrementAndGet();
      return Mono.delay(Duration.ofMillis(50)).thenReturn(product(id));
    };
    int requests = 1000;
    Flux.range(0, requests)
        .flatMap(i -> products.cacheAside(1L, slowLoader).subscribeOn(Schedulers.parallel()),
            requests)
        .blockLast();
    System.out.printf(Locale.ROOT, "stampede: %d concurrent requests, %d loader calls%n",
        requests, loads.get());

    // 2. The same across four instances (separate in-flight maps): leases make it one load.
    loads.set(0);
    List<CacheAside<Long, Product>> instances = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      instances.add(CacheAside.<Long, Product>builder("demo-" + run)
          .store(newStore.apply(true)).codec(codec).build());
    }
    Flux.fromIterable(instances)
        .flatMap(cache -> Flux.range(0, 250)
            .flatMap(i -> cache.cacheAside(2L, slowLoader).subscribeOn(Schedulers.parallel()),
                250))
        .blockLast();
    System.out.printf(Locale.ROOT,
        "cross-instance stampede: 4 instances x 250 concurrent requests, %d loader calls%n",
        loads.get());

    // 3. The stale-set race, forced: a reader loads the old row, a writer updates and
    //    invalidates, then the reader's load finishes.
    String withoutLeases = staleSetRace(newStore.apply(true), run + "-plain", false);
    String withLeases = staleSetRace(newStore.apply(true), run + "-leased", true);
    System.out.printf(Locale.ROOT, "stale-set race: without leases the cache then serves \"%s\";"
        + " with leases \"%s\"%n", withoutLeases, withLeases);

    // 4. Negative caching: a missing id is loaded once, then answered from the cache.
    AtomicInteger missingLoads = new AtomicInteger();
    for (int i = 0; i < 5; i++) {
      products.cacheAside(404L, id -> {
        missingLoads.incrementAndGet();
        return Mono.<Product>empty();
      }).block();
    }
    System.out.printf(Locale.ROOT, "negative caching: 5 reads of a missing id, %d loader call%n",
        missingLoads.get());

    // 5. A corrupt entry is a miss, never an error.
    client.connect().sync().set(RedisCacheStore.valueKey("demo-" + run + ":7"), "garbage");
    Product seven = products.cacheAside(7L, id -> Mono.just(product(id))).block();
    System.out.printf(Locale.ROOT, "corrupt entry: read answered by the loader (%s), corrupt"
        + " entries counted: %d%n", seven == null ? "none" : seven.name(),
        products.stats().corruptEntries());

    // 6. A short mixed load of hot reads: latency percentiles and hit ratio.
    CacheStats before = products.stats();
    int reads = 100_000;
    long[] latencies = new long[reads];
    long start = System.nanoTime();
    Flux.range(0, reads)
        .flatMap(i -> {
          long t0 = System.nanoTime();
          return products.cacheAside((long) (i % 1000), id -> Mono.just(product(id)))
              .doOnNext(p -> latencies[i] = System.nanoTime() - t0);
        }, 128)
        .blockLast();
    double seconds = (System.nanoTime() - start) / 1e9;
    CacheStats mixed = products.stats().minus(before);
    Arrays.sort(latencies);
    System.out.printf(Locale.ROOT, "hot reads: %,d reads over 1,000 keys at concurrency 128:"
            + " %,.0f reads/s, p50 %.2f ms, p99 %.2f ms, hit ratio %.1f %% (%d loads)%n",
        reads, reads / seconds, latencies[reads / 2] / 1e6, latencies[reads * 99 / 100] / 1e6,
        100 * mixed.hitRate(), mixed.loads());

    stores.forEach(RedisCacheStore::close);
    System.out.println("demo: done");
    System.exit(0);
  }

  private static String staleSetRace(RedisCacheStore store, String name, boolean leases) {
    AtomicReference<String> row = new AtomicReference<>("old");
    CacheAside<Long, String> reader = CacheAside.<Long, String>builder(name).store(store)
        .codec(Codec.utf8()).leases(leases).build();
    CacheAside<Long, String> writer = CacheAside.<Long, String>builder(name).store(store)
        .codec(Codec.utf8()).leases(leases).build();
    Sinks.One<String> release = Sinks.one();
    Sinks.One<String> readerLoading = Sinks.one();
    Mono<String> read = reader.cacheAside(1L, id -> {
      String seen = row.get();
      readerLoading.tryEmitValue(seen);
      return release.asMono().thenReturn(seen);
    }).cache();
    read.subscribe();
    readerLoading.asMono().block(Duration.ofSeconds(10));
    writer.writeThenInvalidate(1L, Mono.fromRunnable(() -> row.set("new"))).block();
    release.tryEmitValue("go");
    read.block();
    return writer.cacheAside(1L, id -> Mono.just(row.get())).block();
  }

  static Product product(long id) {
    return new Product(id, "Product " + id, 100 + id);
  }
}
