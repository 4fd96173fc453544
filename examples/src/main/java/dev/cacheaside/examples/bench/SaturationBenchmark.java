package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.ResilienceStats;
import dev.cacheaside.resilience.ResilientCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The client JVM saturated by its own reads, with nothing wrong with Redis: warm keys read through
 * a {@code ResilientCacheStore} with its defaults, closed loop ({@code flatMap} 256) on two cores,
 * for 30 s. Every read is a hit unless the decorator cut a call off (a timeout) or the circuit
 * breaker skipped the cache; such reads go to the loader. Prints the reads, the breaker's openings,
 * the calls it skipped, the timeouts, the loads, and how far the JVM itself lagged (a 10 ms
 * periodic task on the parallel scheduler, measured by this harness).
 *
 * <p>Targets: 0 openings and 0 skipped reads. Optional CPU hogs ({@code -Dhogs=N} busy threads)
 * saturate the machine further, as other builds on a shared machine do; {@code -Dstore=plain}
 * reads through the Redis store alone, to tell the decorator's doing from the core's (its own
 * store timeout). Redis is built from its URI, with the recommended client options.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=SaturationBenchmark -DskipTests package}. Options
 * (system properties via {@code -Drun.jvm.args="-Dseconds=..."}): {@code seconds} (30),
 * {@code warmup} (5, the cold JVM's first seconds, reported apart), {@code keys} (10000),
 * {@code concurrency} (256), {@code hogs} (0), {@code store} ({@code resilient} or
 * {@code plain}).
 */
public final class SaturationBenchmark {
  private static final int SECONDS = Integer.getInteger("seconds", 30);
  private static final int KEYS = Integer.getInteger("keys", 10_000);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 256);
  private static final int HOGS = Integer.getInteger("hogs", 0);
  private static final int WARMUP = Integer.getInteger("warmup", 5);
  private static final boolean PLAIN = "plain".equals(System.getProperty("store", "resilient"));
  private static final int BATCH = 50_000;

  private SaturationBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    RedisCacheStore redisStore = RedisCacheStore.builder().uri(redis.uri().toString()).build();
    ResilientCacheStore store = ResilientCacheStore.builder(redisStore).name("saturation").build();
    LongAdder loads = new LongAdder();
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("saturation")
        .store(PLAIN ? redisStore : store).codec(codec).ttl(Duration.ofHours(1)).build();
    List<String> transitions = new ArrayList<>();
    AtomicLong start = new AtomicLong(System.nanoTime());
    store.circuitBreaker().getEventPublisher().onStateTransition(event -> {
      synchronized (transitions) {
        transitions.add(String.format(Locale.ROOT, "%s at %.1f s",
            event.getStateTransition().getToState(),
            (System.nanoTime() - start.get()) / 1e9));
      }
    });

    System.out.printf(Locale.ROOT, "saturation: closed loop, flatMap %d, %,d warm keys, Redis %s"
            + " on the same machine, %d cores, %d CPU hogs, %s%n", CONCURRENCY, KEYS,
        redis.version(), Runtime.getRuntime().availableProcessors(), HOGS,
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    System.out.println(PLAIN ? "store: " + redisStore + " (plain: -Dstore=plain)"
        : "store: " + store + ", time limit " + store.timeLimit());
    Flux.range(0, KEYS).flatMap(i -> products.cacheAside((long) i,
        id -> Mono.just(product(id))), 64).blockLast();
    synchronized (transitions) {
      if (!transitions.isEmpty()) {
        System.out.println("breaker while the keys were written: " + transitions);
        transitions.clear();
      }
    }

    AtomicBoolean hogging = new AtomicBoolean(true);
    for (int i = 0; i < HOGS; i++) {
      Thread hog = new Thread(() -> {
        long sink = 0;
        while (hogging.get()) {
          sink += System.nanoTime() % 7;
        }
        if (sink == 42) {
          System.out.print("");
        }
      }, "hog-" + i);
      hog.setDaemon(true);
      hog.start();
    }
    System.out.println();
    System.out.println("| phase | reads | reads/s | breaker openings | calls skipped (open) |"
        + " timeouts | failed calls | slow calls excused | store errors seen by the core |"
        + " reads answered by the loader | JVM lag p99 / max ms |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    // The first seconds run on a cold JVM (the JIT compiles on the same two cores): the most
    // saturated moment of a service, reported apart.
    phase("cold JVM, first " + WARMUP + " s", products, store, loads, transitions, start,
        Duration.ofSeconds(WARMUP), new SplittableRandom(1));
    phase("warm, " + SECONDS + " s", products, store, loads, transitions, start,
        Duration.ofSeconds(SECONDS), new SplittableRandom(42));
    hogging.set(false);
    synchronized (transitions) {
      System.out.println("breaker: " + (transitions.isEmpty() ? "no transitions"
          : String.join(", ", transitions)));
    }
    System.out.println("breaker metrics at the end: " + metrics(store.circuitBreaker()));
    System.out.println("cache stats: " + products.stats());
    store.close();
    redisStore.close();
    System.exit(0);
  }

  private static void phase(String name, CacheAside<Long, Product> products,
      ResilientCacheStore store, LongAdder loads, List<String> transitions, AtomicLong start,
      Duration duration, SplittableRandom random) {
    LagProbe lag = new LagProbe();
    ResilienceStats before = store.stats();
    long coreErrorsBefore = products.stats().storeErrors();
    long loadsBefore = loads.sum();
    int transitionsBefore;
    synchronized (transitions) {
      transitionsBefore = transitions.size();
    }
    start.set(System.nanoTime());
    long reads = readFor(products, loads, duration, random);
    double seconds = (System.nanoTime() - start.get()) / 1e9;
    lag.stop();
    ResilienceStats after = store.stats();
    long openings;
    synchronized (transitions) {
      openings = transitions.subList(transitionsBefore, transitions.size()).stream()
          .filter(t -> t.startsWith(CircuitBreaker.State.OPEN.name())).count();
    }
    System.out.printf(Locale.ROOT,
        "| %s | %,d | %,.0f | %d | %,d | %,d | %,d | %,d | %,d | %,d | %.1f / %.1f |%n", name,
        reads, reads / seconds, openings, after.skippedCalls() - before.skippedCalls(),
        after.timeouts() - before.timeouts(), after.failedCalls() - before.failedCalls(),
        after.slowCallsExcused() - before.slowCallsExcused(),
        products.stats().storeErrors() - coreErrorsBefore, loads.sum() - loadsBefore,
        lag.percentileMillis(99), lag.maxMillis());
  }

  /** Closed-loop reads of random warm keys until {@code duration} has passed; returns the reads. */
  private static long readFor(CacheAside<Long, Product> products, LongAdder loads,
      Duration duration, SplittableRandom random) {
    long deadline = System.nanoTime() + duration.toNanos();
    long reads = 0;
    int[] keys = new int[BATCH];
    while (System.nanoTime() < deadline) {
      for (int i = 0; i < BATCH; i++) {
        keys[i] = random.nextInt(KEYS);
      }
      reads += Flux.range(0, BATCH)
          .flatMap(i -> products.cacheAside((long) keys[i], id -> {
            loads.increment();
            return Mono.just(product(id));
          }), CONCURRENCY)
          .count()
          .block();
    }
    return reads;
  }

  private static String metrics(CircuitBreaker breaker) {
    CircuitBreaker.Metrics m = breaker.getMetrics();
    return String.format(Locale.ROOT, "state %s, calls in window %d, failed %d, slow %d,"
            + " not permitted %d", breaker.getState(), m.getNumberOfBufferedCalls(),
        m.getNumberOfFailedCalls(), m.getNumberOfSlowCalls(), m.getNumberOfNotPermittedCalls());
  }

  private static Product product(long id) {
    return new Product(id, "Product number " + id + " with a name of typical length",
        100 + id % 10_000);
  }

  /** How late a 10 ms periodic task on Reactor's parallel scheduler runs: the JVM's own lag. */
  private static final class LagProbe {
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private final List<Long> lags = new ArrayList<>();
    private final Disposable task;
    private long expected = System.nanoTime() + PERIOD_NANOS;

    LagProbe() {
      task = Schedulers.parallel().schedulePeriodically(this::tick, 10, 10,
          TimeUnit.MILLISECONDS);
    }

    private synchronized void tick() {
      long now = System.nanoTime();
      lags.add(Math.max(0, now - expected));
      expected = now + PERIOD_NANOS;
    }

    synchronized void stop() {
      task.dispose();
    }

    synchronized double percentileMillis(double p) {
      long[] values = lags.stream().mapToLong(Long::longValue).toArray();
      return Stats.percentileMicros(values, p) / 1000;
    }

    synchronized double maxMillis() {
      return percentileMillis(100);
    }
  }
}
