package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.TransactionalWrites;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.ResilienceStats;
import dev.cacheaside.resilience.ResilientCacheStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.stream.LongStream;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Redis is killed under a steady load and started again (empty). The store is a
 * {@code ResilientCacheStore} on a {@code RedisCacheStore} built from its URI, whose Lettuce client
 * rejects commands while disconnected: reads
 * fall through to PostgreSQL at once, the invalidations of writes made meanwhile are queued and
 * replayed after the restart, and the cache fills up again.
 */
final class OutageSection {
  private static final int TICKS_PER_SECOND = 100;
  private static final Duration MAX_RECOVERY = Duration.ofSeconds(20);
  private static final String[] PHASES =
      {"before", "Redis down", "reconnecting", "recovered"};

  private OutageSection() {}

  /** What one phase of the load saw. */
  static final class Phase {
    final String name;
    final LongAdder served = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder failedWrites = new LongAdder();
    final ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    CacheStats stats = CacheStats.empty();
    long storeCallsCutOff;

    Phase(String name) {
      this.name = name;
    }

    long[] latencies() {
      return latencies.stream().mapToLong(Long::longValue).toArray();
    }
  }

  /**
   * The phases, and after the restart: when the breaker had closed and nothing was owed any more
   * (-1: not within 20 s), the invalidations queued and replayed, and whether the store owes
   * nothing at the end.
   */
  record Outcome(List<Phase> phases, long closedMillisAfterRestart, ResilienceStats resilience,
      boolean recovered) {
    long failedReads() {
      return phases.stream().mapToLong(p -> p.failed.sum()).sum();
    }
  }

  static void run(DemoEnv env, DemoSizes sizes, Report report) {
    report.section("Redis killed under load", String.format(Locale.ROOT,
        "%,d requests/s (%d %% writes, Zipf keys) on a warm cache; Redis is killed after %.1f s"
            + " and started again, empty, %.1f s later; the load goes on %.1f s after recovery.",
        sizes.outageRate(), sizes.writePercent(), sizes.outageBefore().toMillis() / 1000.0,
        sizes.outageDown().toMillis() / 1000.0, sizes.outageAfter().toMillis() / 1000.0));
    if (!env.redis.managed()) {
      report.row("skipped", "Redis comes from CACHE_ASIDE_REDIS_URI; the demo kills only a Redis"
          + " it started");
      return;
    }
    Outcome o = outage(env, sizes);
    for (Phase phase : o.phases()) {
      report.row(phase.name, "%,d reads served, %,d failed; hit ratio %5.1f %%; %s;"
              + " %,d writes, %,d failed; %,d Redis calls cut off", phase.served.sum(),
          phase.failed.sum(), 100 * phase.stats.hitRate(),
          Report.p99(phase.latencies()), phase.writes.sum(),
          phase.failedWrites.sum(), phase.storeCallsCutOff);
    }
    report.row("recovery", "%s; %,d invalidations queued while down, %,d replayed, %s",
        o.closedMillisAfterRestart() < 0 ? "the circuit breaker did not close"
            : "circuit breaker closed " + o.closedMillisAfterRestart() + " ms after the restart",
        o.resilience().invalidationsQueued(), o.resilience().invalidationsReplayed(),
        o.recovered() ? "none owed" : "some still owed");
  }

  static Outcome outage(DemoEnv env, DemoSizes sizes) {
    // The client a cache wants (fail at once while disconnected, reconnect within 1 s), made
    // and owned by the Redis store; closing the resilient store closes both.
    ResilientCacheStore store = ResilientCacheStore.builder(
            RedisCacheStore.builder().uri(env.redis.uri().toString()).build())
        .name("demo-outage").build();
    try {
      return underLoad(env, sizes, store);
    } finally {
      store.close();
    }
  }

  private static Outcome underLoad(DemoEnv env, DemoSizes sizes, ResilientCacheStore store) {
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder(env.name("outage"))
        .store(store).codec(JsonCodec.of(Product.class)).build();
    Function<Long, Mono<Product>> byId = env.byId();
    TransactionalWrites writes = TransactionalWrites.create(env.pool);
    products.cacheAsideAll(Flux.fromStream(LongStream.rangeClosed(1, sizes.products()).boxed()),
            env.byIds())
        .blockLast(Duration.ofMinutes(2));
    awaitRecovered(store);
    CutOff cutOff = new CutOff(store);

    List<Phase> phases = new ArrayList<>();
    for (String name : PHASES) {
      phases.add(new Phase(name));
    }
    AtomicInteger current = new AtomicInteger();
    AtomicInteger inFlight = new AtomicInteger();
    ZipfKeys keys = new ZipfKeys(sizes.products(), sizes.zipfExponent(), 7);
    int perTick = Math.max(1, sizes.outageRate() / TICKS_PER_SECOND);
    // Open loop: requests start on the clock whatever the earlier ones do, as users would send
    // them; the interval's ticks are serial, so the key draw needs no lock.
    Disposable load = Flux.interval(Duration.ofMillis(1000 / TICKS_PER_SECOND))
        .onBackpressureDrop()
        .flatMap(tick -> Flux.range(0, perTick).map(i -> keys.nextIsWrite(sizes.writePercent())
            ? -keys.next() : keys.next()), 1)
        .flatMap(signedId -> {
          Phase phase = phases.get(current.get());
          long id = Math.abs(signedId);
          long start = System.nanoTime();
          inFlight.incrementAndGet();
          Mono<?> call = signedId < 0
              ? writes.execute(products, id, connection -> DemoEnv.raisePrice(connection, id))
              : products.cacheAside(id, byId);
          return call
              .doOnSuccess(ignored -> {
                if (signedId < 0) {
                  phase.writes.increment();
                } else {
                  phase.served.increment();
                  phase.latencies.add(System.nanoTime() - start);
                }
              })
              .then()
              .onErrorResume(e -> {
                (signedId < 0 ? phase.failedWrites : phase.failed).increment();
                return Mono.empty();
              })
              .doFinally(signal -> inFlight.decrementAndGet());
        }, 4096)
        .subscribe();

    CacheStats mark = products.stats();
    pause(sizes.outageBefore());
    mark = endPhase(cutOff, phases.get(0), products, mark);
    current.set(1);
    env.redis.stop();
    pause(sizes.outageDown());
    mark = endPhase(cutOff, phases.get(1), products, mark);
    current.set(2);
    long restarted = System.nanoTime();
    env.redis.start();
    long backAfter = awaitRecovered(store)
        ? TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restarted) : -1;
    mark = endPhase(cutOff, phases.get(2), products, mark);
    current.set(3);
    pause(sizes.outageAfter());
    load.dispose();
    Flux.interval(Duration.ofMillis(10)).filter(tick -> inFlight.get() == 0).next()
        .timeout(Duration.ofSeconds(10), Mono.empty()).block();
    endPhase(cutOff, phases.get(3), products, mark);
    // Invalidations queued by calls cut off late in the load are replayed shortly after it.
    awaitRecovered(store);
    return new Outcome(phases, backAfter, store.stats(), store.recovered());
  }

  /**
   * Bounded polling on the main thread until the breaker is closed and the store owes no
   * invalidation; false if that did not happen within {@link #MAX_RECOVERY}.
   */
  private static boolean awaitRecovered(ResilientCacheStore store) {
    Boolean recovered = Flux.interval(Duration.ofMillis(10))
        .filter(tick -> store.recovered()
            && store.circuitBreaker().getState() == CircuitBreaker.State.CLOSED)
        .next()
        .map(tick -> true)
        .timeout(MAX_RECOVERY, Mono.just(false))
        .block();
    return Boolean.TRUE.equals(recovered);
  }

  private static CacheStats endPhase(CutOff cutOff, Phase phase,
      CacheAside<Long, Product> products, CacheStats mark) {
    CacheStats now = products.stats();
    phase.stats = now.minus(mark);
    phase.storeCallsCutOff = cutOff.sinceLast();
    return now;
  }

  /**
   * Redis calls the resilient store did not let through (timed out, failed, or skipped by the
   * open breaker) since the last look.
   */
  private static final class CutOff {
    private final ResilientCacheStore store;
    private long last;

    CutOff(ResilientCacheStore store) {
      this.store = store;
      this.last = total();
    }

    long sinceLast() {
      long now = total();
      long delta = now - last;
      last = now;
      return delta;
    }

    private long total() {
      ResilienceStats stats = store.stats();
      return stats.timeouts() + stats.failedCalls() + stats.skippedCalls();
    }
  }

  private static void pause(Duration duration) {
    Mono.delay(duration).block();
  }
}
