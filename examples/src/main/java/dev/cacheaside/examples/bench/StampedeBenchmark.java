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
import java.util.function.Supplier;
import reactor.core.publisher.Mono;

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
    System.out.println("| instances x subscribers | leases | DB loads | p50 ms | p99 ms"
        + " | waits woken by a notification / lease waits (all rounds) |");
    System.out.println("|---|---|---:|---:|---:|---:|");
    int[][] grid = {{1, 1000}, {4, 250}, {8, 125}, {16, 64}};
    int round = 0;
    for (int[] cell : grid) {
      for (boolean leases : new boolean[] {false, true}) {
        List<Stampede.Outcome> rounds = new ArrayList<>();
        for (int r = 0; r < ROUNDS; r++) {
          rounds.add(stampede(redis, cell[0], cell[1], leases, "stampede-" + (round++)));
        }
        System.out.printf(Locale.ROOT, "| %d x %d | %s | %s | %s |%n", cell[0], cell[1],
            leases ? "on" : "off", Stampede.medianCells(rounds),
            leases ? Stampede.wakeupCell(rounds) : "");
      }
    }
    System.exit(0);
  }

  private static Stampede.Outcome stampede(TestRedis redis, int instances, int subscribers,
      boolean leases, String name) {
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
    List<Supplier<Mono<String>>> reads = new ArrayList<>();
    caches.forEach(cache -> reads.add(() -> cache.cacheAside("cold", loader)));
    long[] latencies = new Stampede().run(reads, subscribers);
    stores.forEach(RedisCacheStore::close);
    long waits = 0;
    long wakeups = 0;
    for (CacheAside<String, String> cache : caches) {
      waits += cache.stats().leaseWaits();
      wakeups += cache.stats().leaseWakeups();
    }
    return new Stampede.Outcome(loads.get(), latencies, waits, wakeups);
  }
}
