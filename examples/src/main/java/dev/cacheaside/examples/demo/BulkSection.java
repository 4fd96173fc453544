package dev.cacheaside.examples.demo;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.LongStream;
import reactor.core.publisher.Flux;

/**
 * Thousands of ids through {@code cacheAsideAll}: per window of keys one multi-get, and for its
 * misses one lease round trip, one {@code = ANY($1)} query and one batched store, where
 * {@code cacheAside} per id would make a round trip (and, cold, a query and a store) per id.
 */
final class BulkSection {
  private BulkSection() {}

  /** The round trips one pass over the ids made. */
  record Pass(int ids, long found, long multiGets, long leaseRoundTrips, long queries,
      long batchedStores, double millis) {}

  static void run(DemoEnv env, DemoSizes sizes, Report report) {
    report.section("Bulk lookups", String.format(java.util.Locale.ROOT,
        "cacheAsideAll reads %,d product ids from PostgreSQL through Redis in windows of %,d"
            + " keys, first with a cold cache, then again.", sizes.bulkIds(), sizes.bulkWindow()));
    List<Pass> passes = passes(env, sizes);
    Pass cold = passes.get(0);
    Pass warm = passes.get(1);
    report.row("cold cache", "%,d ids, %,d found: %,d multi-gets, %,d lease round trips,"
            + " %,d DB queries, %,d batched stores; %.0f ms", cold.ids(), cold.found(),
        cold.multiGets(), cold.leaseRoundTrips(), cold.queries(), cold.batchedStores(),
        cold.millis());
    report.row("warm cache", "%,d ids, %,d found: %,d multi-gets, %,d DB queries; %.0f ms",
        warm.ids(), warm.found(), warm.multiGets(), warm.queries(), warm.millis());
    report.row("per key instead", "%,d GETs warm; cold also %,d queries and %,d SETs",
        cold.ids(), cold.ids(), cold.ids());
  }

  static List<Pass> passes(DemoEnv env, DemoSizes sizes) {
    CountingStore store = new CountingStore(env.newStore());
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder(env.name("bulk"))
        .store(store).codec(JsonCodec.of(Product.class))
        // The ids are a list at hand, not a stream trickling in: cut windows by size only.
        .bulkWindow(sizes.bulkWindow(), Duration.ofMinutes(1))
        .bulkMaxLoadChunk(sizes.bulkWindow())
        .build();
    LongAdder queries = new LongAdder();
    BulkLoader<Long, Product> byIds = env.byIds();
    BulkLoader<Long, Product> counted = keys -> {
      queries.increment();
      return byIds.load(keys);
    };
    List<Long> ids = LongStream.rangeClosed(1, sizes.bulkIds()).boxed().toList();
    return List.of(pass(products, store, queries, counted, ids),
        pass(products, store, queries, counted, ids));
  }

  private static Pass pass(CacheAside<Long, Product> products, CountingStore store,
      LongAdder queries, BulkLoader<Long, Product> loader, List<Long> ids) {
    long multiGets = store.multiGets.sum();
    long leases = store.multiLeases.sum();
    long stores = store.batchedStores.sum();
    long queriesBefore = queries.sum();
    long start = System.nanoTime();
    Long found = products.cacheAsideAll(Flux.fromIterable(ids), loader)
        .filter(BulkResult::isPresent)
        .count()
        .block(Duration.ofMinutes(2));
    return new Pass(ids.size(), found == null ? 0 : found, store.multiGets.sum() - multiGets,
        store.multiLeases.sum() - leases, queries.sum() - queriesBefore,
        store.batchedStores.sum() - stores, Report.millisSince(start));
  }
}
