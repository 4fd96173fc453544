package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.ResilienceMetrics;
import dev.cacheaside.resilience.ResilientCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.github.resilience4j.reactor.timelimiter.TimeLimiterOperator;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What a resilience decorator costs on the hit path: warm reads through {@code cacheAside} on one
 * {@code RedisCacheStore}, bare and behind each decorator, against raw Lettuce {@code GET} + the
 * same decode; uniform keys (so that shared reads do not hide the cost), side by side in one JVM,
 * median of interleaved rounds. The decorators: Resilience4j's own Reactor operators one at a time
 * ({@code TimeLimiterOperator}, a scheduled timeout per call; {@code CircuitBreakerOperator}) and
 * together (what {@code ResilientCacheStore} did before it had an operator of its own), and
 * {@code ResilientCacheStore} with its defaults, without and with its meters bound to a registry.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=ResilienceCostBenchmark -DskipTests package}. Options
 * (system properties via {@code -Drun.jvm.args="-Dreads=..."}): {@code reads} (200000),
 * {@code keys} (10000), {@code concurrency} (256), {@code rounds} (5).
 */
public final class ResilienceCostBenchmark {
  private static final int READS = Integer.getInteger("reads", 200_000);
  private static final int KEYS = Integer.getInteger("keys", 10_000);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 256);
  private static final int ROUNDS = Integer.getInteger("rounds", 5);

  private ResilienceCostBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    StatefulRedisConnection<String, byte[]> raw = redis.client().connect(RedisCacheStore.codec());
    RedisReactiveCommands<String, byte[]> rawCommands = raw.reactive();
    RedisCacheStore redisStore = RedisCacheStore.create(redis.client());

    // Resilience4j's operators as ResilientCacheStore applied them before: a time limit inside
    // a circuit breaker, one scheduled timeout per call. The limit is long enough never to fire.
    TimeLimiter limiter = TimeLimiter.of("bench", TimeLimiterConfig.custom()
        .timeoutDuration(Duration.ofSeconds(1)).build());
    CircuitBreaker breaker = CircuitBreaker.of("bench",
        ResilientCacheStore.DEFAULT_CIRCUIT_BREAKER_CONFIG);
    CacheStore timeLimited = decorated(redisStore,
        call -> call.transformDeferred(TimeLimiterOperator.of(limiter)));
    CacheStore broken = decorated(redisStore,
        call -> call.transformDeferred(CircuitBreakerOperator.of(breaker)));
    CacheStore both = decorated(redisStore,
        call -> call.transformDeferred(TimeLimiterOperator.of(limiter))
            .transformDeferred(CircuitBreakerOperator.of(breaker)));
    ResilientCacheStore resilient = ResilientCacheStore.builder(redisStore)
        .name("bench").ownsStore(false).build();
    ResilientCacheStore metered = ResilientCacheStore.builder(redisStore)
        .name("bench-metered").ownsStore(false).build();
    ResilienceMetrics.of(metered).bindTo(new SimpleMeterRegistry());

    Map<String, CacheStore> stores = new LinkedHashMap<>();
    stores.put("cacheAside, RedisCacheStore", redisStore);
    stores.put("+ Resilience4j TimeLimiterOperator", timeLimited);
    stores.put("+ Resilience4j CircuitBreakerOperator", broken);
    stores.put("+ both Resilience4j operators", both);
    stores.put("+ ResilientCacheStore (defaults)", resilient);
    stores.put("+ ResilientCacheStore, meters bound", metered);

    Map<String, IntFunction<? extends Mono<?>>> variants = new LinkedHashMap<>();
    variants.put("raw Lettuce GET + decode", i -> rawCommands.get("raw:" + i).map(codec::decode));
    // Every key is warm, so a load means a store call failed: cut off by a time limit, or skipped
    // by an open breaker (on a machine busy with other work); counted, and shown beside the cost.
    Map<String, LongAdder> loads = new LinkedHashMap<>();
    for (Map.Entry<String, CacheStore> store : stores.entrySet()) {
      CacheAside<Long, Product> cache = CacheAside.<Long, Product>builder("bench")
          .store(store.getValue()).codec(codec).ttl(Duration.ofHours(1)).build();
      LongAdder loaded = new LongAdder();
      loads.put(store.getKey(), loaded);
      variants.put(store.getKey(), i -> cache.cacheAside((long) i, id -> {
        loaded.increment();
        return Mono.just(product(id));
      }));
    }

    CacheAside<Long, Product> warm = CacheAside.<Long, Product>builder("bench")
        .store(redisStore).codec(codec).ttl(Duration.ofHours(1)).build();
    Flux.range(0, KEYS).flatMap(i -> warm.cacheAside((long) i,
        id -> Mono.just(product(id))), 64).blockLast();
    Flux.range(0, KEYS).flatMap(i -> rawCommands.set("raw:" + i,
        codec.encode(product(i))), 64).blockLast();
    SplittableRandom random = new SplittableRandom(42);
    int[] keys = new int[READS];
    for (int i = 0; i < READS; i++) {
      keys[i] = random.nextInt(KEYS);
    }

    System.out.printf(Locale.ROOT, "resilience cost on the hit path: %d reads per round, %d keys"
            + " (uniform), flatMap concurrency %d, %d rounds (median), Redis %s, %d cores, %s%n",
        READS, KEYS, CONCURRENCY, ROUNDS, redis.version(),
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    // Throughput moves with whatever else the machine runs; the JVM's CPU time per read, measured
    // in the same rounds, says what each decorator costs more steadily.
    com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean();
    Map<String, double[]> throughput = new LinkedHashMap<>();
    Map<String, double[]> cpu = new LinkedHashMap<>();
    for (String name : variants.keySet()) {
      throughput.put(name, new double[ROUNDS]);
      cpu.put(name, new double[ROUNDS]);
      Throughput.run(variants.get(name), keys, CONCURRENCY);
      Throughput.run(variants.get(name), keys, CONCURRENCY);
    }
    for (int round = 0; round < ROUNDS; round++) {
      for (Map.Entry<String, IntFunction<? extends Mono<?>>> v : variants.entrySet()) {
        long cpuStart = os.getProcessCpuTime();
        throughput.get(v.getKey())[round] = Throughput.run(v.getValue(), keys, CONCURRENCY);
        cpu.get(v.getKey())[round] = (os.getProcessCpuTime() - cpuStart) / 1e3 / (READS / 1e3);
      }
    }
    double rawMedian = Stats.median(throughput.get("raw Lettuce GET + decode"));
    double plain = Stats.median(throughput.get("cacheAside, RedisCacheStore"));
    double plainCpu = Stats.median(cpu.get("cacheAside, RedisCacheStore"));
    System.out.println();
    System.out.println("| variant | reads/s (median) | vs raw | vs plain store | min..max |"
        + " JVM CPU µs / 1,000 reads | vs plain store | reads answered by the loader |");
    System.out.println("|---|---:|---:|---:|---|---:|---:|---:|");
    for (String name : variants.keySet()) {
      double median = Stats.median(throughput.get(name));
      double cpuMedian = Stats.median(cpu.get(name));
      LongAdder loaded = loads.get(name);
      System.out.printf(Locale.ROOT,
          "| %s | %,.0f | %.1f %% | %.1f %% | %s | %,.0f | %+.1f %% | %s |%n",
          name, median, 100 * median / rawMedian, 100 * median / plain,
          Stats.range(throughput.get(name)), cpuMedian, 100 * (cpuMedian / plainCpu - 1),
          loaded == null ? "" : String.format(Locale.ROOT, "%,d", loaded.sum()));
    }
    System.out.println();
    System.out.println("breaker: " + resilient.circuitBreaker().getState() + ", "
        + resilient.stats());
    resilient.close();
    metered.close();
    redisStore.close();
    raw.close();
    System.exit(0);
  }

  /** {@code store} with every single-key call passed through {@code decoration}. */
  private static CacheStore decorated(CacheStore store, UnaryOperator<Mono<Object>> decoration) {
    return new ForwardingCacheStore(store) {
      @Override
      @SuppressWarnings("unchecked")
      protected <T> Mono<T> around(Operation operation, Mono<T> call) {
        return (Mono<T>) decoration.apply((Mono<Object>) call);
      }
    };
  }

  private static Product product(long id) {
    return new Product(id, "Product number " + id + " with a name of typical length",
        100 + id % 10_000);
  }
}
