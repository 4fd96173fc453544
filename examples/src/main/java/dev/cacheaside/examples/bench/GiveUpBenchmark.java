package dev.cacheaside.examples.bench;

import dev.cacheaside.core.AbandonedReads;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.LoadBulkhead;
import dev.cacheaside.testing.TestRedis;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What happens to work nobody waits for, per {@link AbandonedReads} policy, against a real Redis
 * and a loader that takes as long as a database query (a delay; the figure is how many loads
 * ran, not their cost):
 *
 * <ul>
 *   <li><b>give-up</b>: 5,000 callers of 5,000 cold keys each cancel after 1 ms, the loads going
 *       through {@code LoadBulkhead.of("db", 16, 1 s)} as README recommends; how many loads ran
 *       over the next 4 s, serving nobody;</li>
 *   <li><b>impatient</b>: one cold key, a load of 300 ms, a caller every 150 ms for 3 s, each
 *       giving up after 100 ms (so no two callers overlap, and every flight is abandoned): how many
 *       callers were answered, how many loads ran, and whether the value was cached in the end (a
 *       last, patient read loads nothing). A slow database with impatient callers: does the cache
 *       still fill?</li>
 * </ul>
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=GiveUpBenchmark -DskipTests package}.
 */
public final class GiveUpBenchmark {
  private static final int CALLERS = Integer.getInteger("callers", 5_000);
  private static final int RUNS = Integer.getInteger("runs", 3);

  private GiveUpBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    RedisCacheStore store = RedisCacheStore.create(redis.client());
    System.out.printf(Locale.ROOT, "give-up: %,d callers of cold keys cancel after 1 ms, loads of 50"
        + " ms through a bulkhead of 16; %d runs (median, min..max)%n%n", CALLERS, RUNS);
    System.out.println("| policy | loads that ran, with bulkhead | without bulkhead |");
    System.out.println("|---|---:|---:|");
    int name = 0;
    for (AbandonedReads policy : AbandonedReads.values()) {
      double[] bulkhead = new double[RUNS];
      double[] none = new double[RUNS];
      for (int run = 0; run < RUNS; run++) {
        bulkhead[run] = giveUp(store, policy, true, "give-up-" + (name++));
        none[run] = giveUp(store, policy, false, "give-up-" + (name++));
      }
      System.out.printf(Locale.ROOT, "| %s | %,.0f (%s) | %,.0f (%s) |%n", policy,
          Stats.median(bulkhead), Stats.range(bulkhead), Stats.median(none), Stats.range(none));
    }
    System.out.printf(Locale.ROOT, "%nimpatient: one cold key, load 300 ms, a caller every 150 ms"
        + " for 3 s giving up after 100 ms; %d runs (median)%n%n", RUNS);
    System.out.println("| policy | callers answered (of 20) | loads started | cached at the end |");
    System.out.println("|---|---:|---:|---|");
    for (AbandonedReads policy : AbandonedReads.values()) {
      double[] answered = new double[RUNS];
      double[] loads = new double[RUNS];
      int cached = 0;
      for (int run = 0; run < RUNS; run++) {
        int[] outcome = impatient(store, policy, "impatient-" + (name++));
        answered[run] = outcome[0];
        loads[run] = outcome[1];
        cached += outcome[2];
      }
      System.out.printf(Locale.ROOT, "| %s | %,.0f | %,.0f | %d of %d runs |%n", policy,
          Stats.median(answered), Stats.median(loads), cached, RUNS);
    }
    store.close();
    System.exit(0);
  }

  private static CacheAsideBuilder<Integer, String> builder(RedisCacheStore store, String name,
      AbandonedReads policy) {
    return CacheAside.<Integer, String>builder(name).store(store).codec(Codec.utf8())
        .abandonedReads(policy);
  }

  /** Loads started within 4 s of a burst of callers who each gave up after 1 ms. */
  private static int giveUp(RedisCacheStore store, AbandonedReads policy, boolean bulkhead,
      String name) {
    CacheAsideBuilder<Integer, String> builder = builder(store, name, policy);
    if (bulkhead) {
      builder.loadDecorator(LoadBulkhead.of(name, 16, Duration.ofSeconds(1)));
    }
    CacheAside<Integer, String> cache = builder.build();
    AtomicInteger loads = new AtomicInteger();
    Function<Integer, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return Mono.delay(Duration.ofMillis(50)).thenReturn("row " + key);
    };
    Flux.range(0, CALLERS)
        .flatMap(key -> cache.cacheAside(key, loader)
            .take(Duration.ofMillis(1))
            .onErrorResume(e -> Mono.empty()), CALLERS)
        .then().block();
    Mono.delay(Duration.ofSeconds(4)).block();
    return loads.get();
  }

  /** {callers answered, loads started, 1 if the value was cached in the end}. */
  private static int[] impatient(RedisCacheStore store, AbandonedReads policy, String name) {
    CacheAside<Integer, String> cache = builder(store, name, policy).build();
    AtomicInteger loads = new AtomicInteger();
    Function<Integer, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return Mono.delay(Duration.ofMillis(300)).thenReturn("row");
    };
    long answered = Flux.interval(Duration.ofMillis(150)).take(20)
        .flatMap(tick -> cache.cacheAside(1, loader)
            .timeout(Duration.ofMillis(100))
            .onErrorResume(e -> Mono.empty()))
        .count().block();
    Mono.delay(Duration.ofMillis(500)).block();
    int before = loads.get();
    cache.cacheAside(1, loader).block(Duration.ofSeconds(5));
    return new int[] {(int) answered, before, loads.get() == before ? 1 : 0};
  }
}
