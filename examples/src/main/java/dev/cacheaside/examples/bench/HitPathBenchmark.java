package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.ResilientCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The hit path: {@code cacheAside} on warm keys against raw Lettuce reactive {@code GET} plus the
 * same codec's decode, same Redis, same concurrency, uniform and Zipf-skewed keys; on the plain
 * Redis store (reads shared or not) and behind a {@code ResilientCacheStore} with its defaults. Prints
 * throughput per variant (median of interleaved rounds) and its ratio to raw.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=HitPathBenchmark -DskipTests package}. Options (system
 * properties via {@code -Drun.jvm.args="-Dreads=..."}): {@code reads} (200000), {@code keys}
 * (10000), {@code concurrency} (256), {@code rounds} (5), {@code zipf} (1.0).
 */
public final class HitPathBenchmark {
  private static final int READS = Integer.getInteger("reads", 200_000);
  private static final int KEYS = Integer.getInteger("keys", 10_000);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 256);
  private static final int ROUNDS = Integer.getInteger("rounds", 5);
  private static final double ZIPF = Double.parseDouble(System.getProperty("zipf", "1.0"));

  private HitPathBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    RedisClient client = redis.client();
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    StatefulRedisConnection<String, byte[]> raw =
        client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    RedisReactiveCommands<String, byte[]> rawCommands = raw.reactive();
    RedisCacheStore sharedStore = RedisCacheStore.create(client);
    RedisCacheStore unsharedStore = RedisCacheStore.create(client);
    ResilientCacheStore resilientStore = ResilientCacheStore.wrap(RedisCacheStore.create(client));
    CacheAside<Long, Product> shared = CacheAside.<Long, Product>builder("bench")
        .store(sharedStore).codec(codec).ttl(Duration.ofHours(1)).build();
    CacheAside<Long, Product> unshared = CacheAside.<Long, Product>builder("bench")
        .store(unsharedStore).codec(codec).ttl(Duration.ofHours(1)).shareReads(false).build();
    CacheAside<Long, Product> resilient = CacheAside.<Long, Product>builder("bench")
        .store(resilientStore).codec(codec).ttl(Duration.ofHours(1)).build();

    // Warm both: cache entries through the library, raw keys with the bare JSON.
    Flux.range(0, KEYS).flatMap(i -> shared.cacheAside((long) i,
        id -> Mono.just(product(id))), 64).blockLast();
    Flux.range(0, KEYS).flatMap(i -> rawCommands.set("raw:" + i,
        codec.encode(product(i))), 64).blockLast();

    SplittableRandom random = new SplittableRandom(42);
    int[] uniform = new int[READS];
    int[] skewed = new int[READS];
    Zipf zipf = new Zipf(KEYS, ZIPF);
    for (int i = 0; i < READS; i++) {
      uniform[i] = random.nextInt(KEYS);
      skewed[i] = zipf.next(random);
    }

    Map<String, IntFunction<? extends Mono<?>>> variants = new LinkedHashMap<>();
    variants.put("raw Lettuce GET + decode", i -> rawCommands.get("raw:" + i).map(codec::decode));
    variants.put("cacheAside (shared reads)", i -> shared.cacheAside((long) i,
        id -> Mono.error(new IllegalStateException("benchmark expects hits only"))));
    variants.put("cacheAside (shared loads only)", i -> unshared.cacheAside((long) i,
        id -> Mono.error(new IllegalStateException("benchmark expects hits only"))));
    variants.put("cacheAside, ResilientCacheStore (defaults)", i -> resilient.cacheAside((long) i,
        id -> Mono.error(new IllegalStateException("benchmark expects hits only"))));

    System.out.printf(Locale.ROOT, "hit path: %d reads per round, %d keys, flatMap concurrency %d,"
        + " %d rounds (median), Redis %s, %d cores, %s%n", READS, KEYS, CONCURRENCY, ROUNDS,
        redis.version(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    for (Map.Entry<String, int[]> workload : Map.of("uniform", uniform,
        "zipf(" + ZIPF + ")", skewed).entrySet().stream().sorted(Map.Entry.comparingByKey())
        .toList()) {
      System.out.println();
      Map<String, double[]> throughput =
          Throughput.interleaved(variants, workload.getValue(), CONCURRENCY, ROUNDS);
      Throughput.printTable("keys: " + workload.getKey(), throughput);
      System.out.printf(Locale.ROOT, "ResilientCacheStore: %.1f %% of the plain store's reads/s%n",
          100 * Stats.median(throughput.get("cacheAside, ResilientCacheStore (defaults)"))
              / Stats.median(throughput.get("cacheAside (shared reads)")));
    }
    System.out.println();
    System.out.println("shared-reads stats: " + shared.stats());
    System.out.println("resilient store: " + resilientStore + ", " + resilientStore.stats());
    raw.close();
    sharedStore.close();
    unsharedStore.close();
    resilientStore.close();
    System.exit(0);
  }

  private static Product product(long id) {
    return new Product(id, "Product number " + id + " with a name of typical length",
        100 + id % 10_000);
  }
}
