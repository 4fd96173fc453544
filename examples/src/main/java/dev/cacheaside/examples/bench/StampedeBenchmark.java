package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Cross-instance cold-key stampede: N instances (each its own connection and in-flight map, as
 * separate services) × M concurrent subscribers on one cold key, a loader that takes 50 ms like a
 * database query. Prints database loads and subscriber latency (p50/p99) with leases and without.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=StampedeBenchmark -DskipTests package}.
 */
public final class StampedeBenchmark {
  private static final int ROUNDS = Integer.getInteger("rounds", 5);
  private static final Duration LOAD_TIME = Duration.ofMillis(50);

  private StampedeBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    System.out.printf(Locale.ROOT, "stampede: cold key, loader %d ms, %d rounds per row (median),"
            + " Redis %s, %d cores%n%n", LOAD_TIME.toMillis(), ROUNDS, redis.version(),
        Runtime.getRuntime().availableProcessors());
    System.out.println("| instances x subscribers | leases | DB loads | p50 ms | p99 ms |");
    System.out.println("|---|---|---:|---:|---:|");
    int[][] grid = {{1, 1000}, {4, 250}, {8, 125}, {16, 64}};
    int round = 0;
    for (int[] cell : grid) {
      for (boolean leases : new boolean[] {false, true}) {
        double[] loads = new double[ROUNDS];
        double[] p50 = new double[ROUNDS];
        double[] p99 = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
          long[] result = stampede(redis, cell[0], cell[1], leases, "stampede-" + (round++));
          loads[r] = result[0];
          long[] latencies = new long[result.length - 1];
          System.arraycopy(result, 1, latencies, 0, latencies.length);
          p50[r] = Stats.percentileMicros(latencies, 50) / 1000;
          p99[r] = Stats.percentileMicros(latencies, 99) / 1000;
        }
        System.out.printf(Locale.ROOT, "| %d x %d | %s | %.0f | %.1f | %.1f |%n", cell[0], cell[1],
            leases ? "on" : "off", Stats.median(loads), Stats.median(p50), Stats.median(p99));
      }
    }
    System.exit(0);
  }

  /** Returns {loads, latency of each subscriber in nanos...}. */
  private static long[] stampede(TestRedis redis, int instances, int subscribers, boolean leases,
      String name) {
    List<RedisCacheStore> stores = new ArrayList<>();
    List<CacheAside<String, String>> caches = new ArrayList<>();
    for (int i = 0; i < instances; i++) {
      RedisCacheStore store = RedisCacheStore.create(redis.client());
      stores.add(store);
      caches.add(CacheAside.<String, String>builder(name).store(store).codec(Codec.utf8())
          .leases(leases).build());
    }
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return Mono.delay(LOAD_TIME).thenReturn("row");
    };
    long[] result = new long[1 + instances * subscribers];
    AtomicInteger slot = new AtomicInteger(1);
    Flux.fromIterable(caches)
        .flatMap(cache -> Flux.range(0, subscribers).flatMap(i -> Mono.defer(() -> {
          long start = System.nanoTime();
          return cache.cacheAside("cold", loader)
              .doOnNext(v -> result[slot.getAndIncrement()] = System.nanoTime() - start);
        }).subscribeOn(Schedulers.parallel()), subscribers), instances)
        .blockLast(Duration.ofMinutes(1));
    result[0] = loads.get();
    stores.forEach(RedisCacheStore::close);
    return result;
  }
}
