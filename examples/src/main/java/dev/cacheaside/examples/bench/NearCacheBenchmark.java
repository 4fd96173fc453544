package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.core.NearCache;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The near cache (issue 17), side by side in one run on one Redis:
 * <ol>
 *   <li>the hit path: near hits against Redis hits through {@code cacheAside} and against raw
 *       Lettuce {@code GET} plus the same decode, uniform and Zipf keys (every key warm in the
 *       local tier);</li>
 *   <li>Redis load: commands Redis processed per read, with and without the near cache, Zipf
 *       keys over a key space larger than the tier;</li>
 *   <li>propagation: the time from {@code invalidate} completing on one instance to the other
 *       instance's copy being gone (p50, p99, max), and how many reads on the other instance,
 *       made right after the invalidation completed, still returned the old value.</li>
 * </ol>
 *
 * <p>Run: {@code mvn -B -o -q -Pbench -Dbench=NearCacheBenchmark -DskipTests package -pl examples
 * -am}. Options ({@code -Drun.jvm.args="-Dreads=..."}): {@code reads} (200000), {@code keys}
 * (10000), {@code concurrency} (256), {@code rounds} (5), {@code zipf} (1.0),
 * {@code invalidations} (10000).
 */
public final class NearCacheBenchmark {
  private static final int READS = Integer.getInteger("reads", 200_000);
  private static final int KEYS = Integer.getInteger("keys", 10_000);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 256);
  private static final int ROUNDS = Integer.getInteger("rounds", 5);
  private static final double ZIPF = Double.parseDouble(System.getProperty("zipf", "1.0"));
  private static final int INVALIDATIONS = Integer.getInteger("invalidations", 10_000);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private NearCacheBenchmark() {}

  public static void main(String[] args) throws InterruptedException {
    TestRedis redis = TestRedis.get();
    redis.flushAll();
    RedisClient client = redis.client();
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    StatefulRedisConnection<String, byte[]> raw = client.connect(RedisCacheStore.codec());
    RedisReactiveCommands<String, byte[]> rawCommands = raw.reactive();
    RedisCacheStore plainStore = RedisCacheStore.create(client);
    RedisCacheStore nearStore = RedisCacheStore.create(client);
    RedisCacheStore otherStore = RedisCacheStore.create(client);
    CacheAside<Long, Product> plain = CacheAside.<Long, Product>builder("bench")
        .store(plainStore).codec(codec).ttl(Duration.ofHours(1)).build();
    CacheAside<Long, Product> near = CacheAside.<Long, Product>builder("bench")
        .store(nearStore).codec(codec).ttl(Duration.ofHours(1))
        .nearCache(NearCache.ofEntries(KEYS).withMaxTtl(Duration.ofHours(1))).build();
    CacheAside<Long, Product> writer = CacheAside.<Long, Product>builder("bench")
        .store(otherStore).codec(codec).ttl(Duration.ofHours(1)).build();
    awaitLive(near);

    Flux.range(0, KEYS).flatMap(i -> plain.cacheAside((long) i,
        id -> Mono.just(product(id))), 64).blockLast();
    Flux.range(0, KEYS).flatMap(i -> near.cacheAside((long) i,
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
    IntFunction<Mono<Product>> fail = i -> Mono.error(new IllegalStateException("hits only"));
    Map<String, IntFunction<? extends Mono<?>>> variants = new LinkedHashMap<>();
    variants.put("raw Lettuce GET + decode", i -> rawCommands.get("raw:" + i).map(codec::decode));
    variants.put("cacheAside, Redis hit", i -> plain.cacheAside((long) i,
        id -> fail.apply(i)));
    variants.put("cacheAside, near hit", i -> near.cacheAside((long) i, id -> fail.apply(i)));

    System.out.printf(Locale.ROOT, "near cache: %d reads per round, %d keys, flatMap concurrency"
        + " %d, %d rounds (median), Redis %s, %d cores, %s%n", READS, KEYS, CONCURRENCY, ROUNDS,
        redis.version(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    for (Map.Entry<String, int[]> workload : Map.of("uniform", uniform,
        "zipf(" + ZIPF + ")", skewed).entrySet().stream().sorted(Map.Entry.comparingByKey())
        .toList()) {
      System.out.println();
      Throughput.printTable("keys: " + workload.getKey(),
          Throughput.interleaved(variants, workload.getValue(), CONCURRENCY, ROUNDS));
    }
    System.out.println();
    System.out.println("near stats: " + near.stats().nearCache());

    redisLoad(client, codec, raw);
    propagation(near, writer, nearStore);

    raw.close();
    plainStore.close();
    nearStore.close();
    otherStore.close();
    System.exit(0);
  }

  /**
   * Redis commands per read on a Zipf workload over four times as many keys as the tier holds:
   * a plain cache against a near one, each on a fresh store, Redis counted by
   * {@code total_commands_processed} (our own {@code INFO} calls excepted).
   */
  private static void redisLoad(RedisClient client, JsonCodec<Product> codec,
      StatefulRedisConnection<String, byte[]> raw) throws InterruptedException {
    int keys = KEYS * 4;
    SplittableRandom random = new SplittableRandom(7);
    Zipf zipf = new Zipf(keys, ZIPF);
    int[] reads = new int[READS];
    for (int i = 0; i < READS; i++) {
      reads[i] = zipf.next(random);
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "| Redis load, zipf(%s) over %d keys, tier of %d |"
        + " commands/read | reads/s |%n", ZIPF, keys, KEYS);
    System.out.println("|---|---:|---:|");
    for (boolean withNear : new boolean[] {false, true}) {
      try (RedisCacheStore store = RedisCacheStore.create(client)) {
        var builder = CacheAside.<Long, Product>builder(withNear ? "load-near" : "load-plain")
            .store(store).codec(codec).ttl(Duration.ofHours(1));
        if (withNear) {
          builder.nearCache(NearCache.ofEntries(KEYS).withMaxTtl(Duration.ofHours(1)));
        }
        CacheAside<Long, Product> cache = builder.build();
        if (withNear) {
          awaitLive(cache);
        }
        IntFunction<Mono<Product>> read = i -> cache.cacheAside((long) i,
            id -> Mono.just(product(id)));
        Throughput.run(read, reads, CONCURRENCY);
        long before = commands(raw);
        double perSecond = Throughput.run(read, reads, CONCURRENCY);
        long after = commands(raw);
        System.out.printf(Locale.ROOT, "| %s | %.3f | %,.0f |%n",
            withNear ? "with near cache" : "without", (after - before - 1) / (double) READS,
            perSecond);
      }
    }
  }

  private static long commands(StatefulRedisConnection<String, byte[]> raw) {
    for (String line : raw.sync().info("stats").split("\r?\n")) {
      if (line.startsWith("total_commands_processed:")) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    throw new IllegalStateException("no total_commands_processed in INFO stats");
  }

  /**
   * One key at a time: the near instance holds a copy; the writer invalidates; the time from the
   * invalidation's completion to the near instance's hearing of it (a listener registered after
   * the near cache's, so it runs once the copy is gone); and one read on the near instance right
   * after the completion: did it still return the old value?
   */
  private static void propagation(CacheAside<Long, Product> near,
      CacheAside<Long, Product> writer, RedisCacheStore nearStore) throws InterruptedException {
    Map<String, Long> heardAt = new ConcurrentHashMap<>();
    Map<String, CountDownLatch> waiting = new ConcurrentHashMap<>();
    nearStore.invalidations(new KeysHeard(storeKey -> {
      heardAt.put(storeKey, System.nanoTime());
      CountDownLatch latch = waiting.get(storeKey);
      if (latch != null) {
        latch.countDown();
      }
    }));
    long[] micros = new long[INVALIDATIONS];
    int staleReads = 0;
    long longestStaleMicros = 0;
    for (int i = 0; i < INVALIDATIONS; i++) {
      long id = KEYS + 1_000_000L + i;
      near.cacheAside(id, k -> Mono.just(product(k))).block(WAIT);
      near.cacheAside(id, k -> Mono.just(product(k))).block(WAIT);
      String storeKey = near.storeKey(id).block(WAIT);
      CountDownLatch heard = new CountDownLatch(1);
      waiting.put(storeKey, heard);
      writer.invalidate(id).block(WAIT);
      long completed = System.nanoTime();
      Product seen = near.cacheAside(id, k -> Mono.just(new Product(k, "new", 0))).block(WAIT);
      boolean stale = !"new".equals(seen.name());
      if (!heard.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("invalidation of " + storeKey + " never arrived");
      }
      waiting.remove(storeKey);
      micros[i] = Math.max(0, (heardAt.remove(storeKey) - completed) / 1_000);
      if (stale) {
        staleReads++;
        longestStaleMicros = Math.max(longestStaleMicros, micros[i]);
      }
    }
    Arrays.sort(micros);
    System.out.println();
    System.out.printf(Locale.ROOT, "propagation over %d invalidations (µs from invalidate"
        + " completing on one instance to the copy gone on the other): p50 %d, p99 %d, max %d%n",
        INVALIDATIONS, micros[INVALIDATIONS / 2], micros[(int) (INVALIDATIONS * 0.99)],
        micros[INVALIDATIONS - 1]);
    System.out.printf(Locale.ROOT, "reads on the other instance right after the invalidation"
        + " completed that returned the old value: %d of %d; longest such window %d µs%n",
        staleReads, INVALIDATIONS, longestStaleMicros);
  }

  private static void awaitLive(CacheAside<?, ?> cache) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (cache.stats().nearCache().bypassing()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the invalidation stream never came up");
      }
      Thread.sleep(5);
    }
  }

  private static Product product(long id) {
    return new Product(id, "Product number " + id + " with a name of typical length",
        100 + id % 10_000);
  }
}
