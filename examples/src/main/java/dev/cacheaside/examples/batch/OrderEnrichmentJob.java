package dev.cacheaside.examples.batch;

import dev.cacheaside.examples.batch.OrderEnrichment.EnrichedLine;
import dev.cacheaside.examples.catalog.ProductTable;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import io.r2dbc.spi.ConnectionFactory;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The batch job as a program: seeds the {@code products} table on embedded PostgreSQL (or the one
 * named by {@code CACHE_ASIDE_PG_URL}), enriches 20,000 skewed order lines through a Redis cache
 * (embedded, or {@code CACHE_ASIDE_REDIS_URI}) twice, cold then warm, printing progress and the
 * database queries and Redis round trips (cache store calls) each run needed.
 *
 * <p>System properties: {@code batch.lines} (20,000), {@code batch.products} (5,000 seeded),
 * {@code batch.ids} (ids drawn from 1..5,250, so some do not exist), {@code batch.size} (1,000
 * lines per batch), {@code batch.progress} (print every 5,000 lines).
 */
public final class OrderEnrichmentJob {
  private OrderEnrichmentJob() {}

  /** Runs the job; see the class documentation. */
  public static void main(String[] args) {
    int lines = Integer.getInteger("batch.lines", 20_000);
    int seeded = Integer.getInteger("batch.products", 5_000);
    int ids = Integer.getInteger("batch.ids", seeded + seeded / 20);
    int batchSize = Integer.getInteger("batch.size", 1_000);
    int every = Integer.getInteger("batch.progress", 5_000);

    TestRedis redis = TestRedis.get();
    TestPostgres postgres = TestPostgres.get();
    ConnectionFactory pool = postgres.pool();
    ProductTable.createAndSeed(pool, seeded).block();
    System.out.printf(Locale.ROOT, "redis %s, postgresql %s; %,d products seeded%n",
        redis.version(), postgres.version(), seeded);

    Set<Long> distinct = new HashSet<>();
    OrderEnrichment.sampleLines(lines, ids, 42).toIterable()
        .forEach(line -> distinct.add(line.productId()));
    System.out.printf(Locale.ROOT, "%,d order lines over %,d distinct product ids (drawn from"
        + " 1..%,d, skewed), batches of %,d lines%n%n", lines, distinct.size(), ids, batchSize);

    try (RedisCacheStore redisStore = RedisCacheStore.create(redis.client())) {
      CountingStore store = new CountingStore(redisStore);
      // A name of its own per run of the program, so that the first pass starts cold.
      String name = "batch-" + Long.toString(System.currentTimeMillis(), 36);
      OrderEnrichment job = new OrderEnrichment(OrderEnrichment.cache(name, store, batchSize),
          ProductTable.byIds(pool), batchSize);
      for (String pass : new String[] {"cold", "warm"}) {
        long queriesBefore = job.queries();
        long keysBefore = job.keysLoaded();
        long callsBefore = store.calls();
        long start = System.nanoTime();
        long done = 0;
        long unknown = 0;
        long totalCents = 0;
        // Consumed on this (main) thread: printing is blocking I/O, never on an event loop.
        for (EnrichedLine line : job.enrich(OrderEnrichment.sampleLines(lines, ids, 42))
            .toIterable()) {
          done++;
          unknown += line.product() == null ? 1 : 0;
          totalCents += line.totalCents();
          if (done % every == 0) {
            System.out.printf(Locale.ROOT, "  %s: %,6d lines enriched, %d database queries so"
                    + " far, %.0f ms%n", pass, done, job.queries() - queriesBefore,
                (System.nanoTime() - start) / 1e6);
          }
        }
        double ms = (System.nanoTime() - start) / 1e6;
        System.out.printf(Locale.ROOT, "%s pass: %,d lines (%,d with an unknown product), order"
                + " total %,.2f, in %.0f ms: %d database queries loading %,d ids, %d Redis"
                + " round trips%n%n", pass, done, unknown, totalCents / 100.0, ms,
            job.queries() - queriesBefore, job.keysLoaded() - keysBefore,
            store.calls() - callsBefore);
      }
    }
    System.exit(0); // the embedded servers stop with the JVM
  }
}
