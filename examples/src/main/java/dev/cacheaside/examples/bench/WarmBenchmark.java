package dev.cacheaside.examples.bench;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideDefaults;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.core.WarmOptions;
import dev.cacheaside.core.WarmProgress;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.examples.Product;
import dev.cacheaside.examples.catalog.ProductTable;
import dev.cacheaside.r2dbc.R2dbcBulkLoader;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Warming before traffic: a catalog of {@code catalog} products in PostgreSQL, the
 * {@code warm} hottest of them warmed into Redis with {@code CacheAside.warm} (at most
 * {@code cap} concurrent queries, counted around each query: the peak is printed and checked),
 * then the first {@code requests} requests of Zipf-skewed traffic (hottest ids lowest, as the
 * warm assumes), against the same traffic on a cold cache. Each run starts from an empty
 * namespace ({@code bumpGeneration}); the table prints every run and the medians.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=WarmBenchmark -DskipTests package}. Options
 * ({@code -Drun.jvm.args="-Xmx2g -Druns=5"}): {@code catalog} (1000000), {@code warm} (100000),
 * {@code cap} (4), {@code requests} (50000), {@code concurrency} (64), {@code zipf} (1.0),
 * {@code runs} (3).
 */
public final class WarmBenchmark {
  private static final int CATALOG = Integer.getInteger("catalog", 1_000_000);
  private static final int WARM = Integer.getInteger("warm", 100_000);
  private static final int CAP = Integer.getInteger("cap", 4);
  private static final int REQUESTS = Integer.getInteger("requests", 50_000);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 64);
  private static final double ZIPF = Double.parseDouble(System.getProperty("zipf", "1.0"));
  private static final int RUNS = Integer.getInteger("runs", 3);

  private WarmBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    TestPostgres postgres = TestPostgres.get();
    ConnectionFactory pool = postgres.pool();
    long seedStart = System.nanoTime();
    ProductTable.createAndSeed(pool, CATALOG).block(Duration.ofMinutes(10));
    System.out.printf(Locale.ROOT, "warming: catalog of %,d products (seeded in %,d ms), warm the"
            + " %,d hottest at most %d queries at a time, then %,d requests (Zipf %.1f, flatMap"
            + " concurrency %d); bulk window %d, chunk %d; Redis %s, PostgreSQL %s, %d cores%n",
        CATALOG, (System.nanoTime() - seedStart) / 1_000_000, WARM, CAP, REQUESTS, ZIPF,
        CONCURRENCY, CacheAsideDefaults.BULK_WINDOW_SIZE, CacheAsideDefaults.BULK_MAX_LOAD_CHUNK,
        redis.version(), postgres.version(), Runtime.getRuntime().availableProcessors());

    RedisCacheStore store = RedisCacheStore.create(redis.client());
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("warm-bench")
        .store(store).codec(JsonCodec.of(Product.class)).ttl(Duration.ofHours(1)).build();
    R2dbcBulkLoader<Long, Product> byIds = ProductTable.byIds(pool);
    Function<Long, Mono<Product>> byId = ProductTable.byId(pool);
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger queries = new AtomicInteger();
    BulkLoader<Long, Product> counted = keys -> Mono.defer(() -> {
      queries.incrementAndGet();
      peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      // Down when the rows are delivered, before they travel on (see WarmTest).
      return byIds.load(keys).doOnTerminate(inFlight::decrementAndGet)
          .doOnCancel(inFlight::decrementAndGet);
    });
    long[] traffic = new long[REQUESTS];
    Zipf zipf = new Zipf(CATALOG, ZIPF);
    SplittableRandom random = new SplittableRandom(19);
    for (int i = 0; i < REQUESTS; i++) {
      traffic[i] = 1L + zipf.next(random);
    }

    double[] warmSeconds = new double[RUNS];
    double[] peaks = new double[RUNS];
    double[] warmedRatio = new double[RUNS];
    double[] coldRatio = new double[RUNS];
    System.out.println();
    System.out.println("| run | time to warm | keys/s | queries | peak concurrent queries (cap)"
        + " | hit ratio, first requests after warming | same, cold cache |");
    System.out.println("|---:|---:|---:|---:|---:|---:|---:|");
    for (int run = 0; run < RUNS; run++) {
      products.bumpGeneration().block(Duration.ofSeconds(10));
      queries.set(0);
      peak.set(0);
      long start = System.nanoTime();
      WarmProgress done = products.warm(Flux.range(1, WARM).map(Long::valueOf), counted,
          WarmOptions.defaults().withMaxConcurrentLoads(CAP)).last().block(Duration.ofMinutes(10));
      warmSeconds[run] = (System.nanoTime() - start) / 1e9;
      peaks[run] = peak.get();
      if (done.warmed() != WARM || peak.get() > CAP) {
        throw new IllegalStateException("run " + run + ": " + done + ", peak " + peak);
      }
      warmedRatio[run] = hitRatio(products, traffic, byId);
      products.bumpGeneration().block(Duration.ofSeconds(10));
      coldRatio[run] = hitRatio(products, traffic, byId);
      System.out.printf(Locale.ROOT, "| %d | %.2f s | %,.0f | %,d | %d (%d) | %.1f %% | %.1f %% |%n",
          run + 1, warmSeconds[run], WARM / warmSeconds[run], queries.get(), peak.get(), CAP,
          100 * warmedRatio[run], 100 * coldRatio[run]);
    }
    System.out.printf(Locale.ROOT, "| median | %.2f s | %,.0f | | %.0f (%d) | %.1f %% | %.1f %% |%n",
        Stats.median(warmSeconds), WARM / Stats.median(warmSeconds), Stats.median(peaks), CAP,
        100 * Stats.median(warmedRatio), 100 * Stats.median(coldRatio));
    store.close();
    System.exit(0);
  }

  /** Sends the traffic through {@code cacheAside}; the share of requests answered by a hit. */
  private static double hitRatio(CacheAside<Long, Product> products, long[] traffic,
      Function<Long, Mono<Product>> byId) {
    CacheStats before = products.stats();
    Flux.range(0, traffic.length)
        .flatMap(i -> products.cacheAside(traffic[i], byId), CONCURRENCY)
        .blockLast(Duration.ofMinutes(10));
    CacheStats after = products.stats();
    long hits = after.hits() - before.hits() + after.negativeHits() - before.negativeHits()
        + after.staleHits() - before.staleHits();
    return (double) hits / traffic.length;
  }
}
