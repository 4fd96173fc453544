package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.TransactionalWrites;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A short mixed load on the PostgreSQL {@code product} table, Zipf-skewed like real traffic:
 * reads through {@code cacheAside} with an R2DBC loader, writes in a transaction that invalidates
 * the key after the commit ({@code TransactionalWrites}). Then every written product is read back
 * through the cache and compared with its row: none may be stale.
 */
final class MixedLoadSection {
  private MixedLoadSection() {}

  /** What the load measured. */
  record Outcome(int reads, int writes, int failed, double seconds, CacheStats stats,
      long[] readLatencies, long[] writeLatencies, int written, long stale) {}

  static void run(DemoEnv env, DemoSizes sizes, Report report) {
    report.section("Mixed load on PostgreSQL", String.format(Locale.ROOT,
        "%,d requests (%d %% writes) over %,d products, keys Zipf(%.1f), %d in flight; reads"
            + " through cacheAside, writes through TransactionalWrites.", sizes.mixedRequests(),
        sizes.writePercent(), sizes.products(), sizes.zipfExponent(), sizes.mixedConcurrency()));
    Outcome o = load(env, sizes);
    report.row("requests", "%,d reads, %,d writes, %,d failed in %.1f s (%,.0f requests/s)",
        o.reads(), o.writes(), o.failed(), o.seconds(), (o.reads() + o.writes()) / o.seconds());
    report.row("hit ratio", "%.1f %% (%,d loads from PostgreSQL, from a cold cache)",
        100 * o.stats().hitRate(), o.stats().loads());
    report.row("read latency", "%s", Report.p50p99(o.readLatencies(), 2));
    report.row("write latency", "%s (commit, then invalidation)",
        Report.p50p99(o.writeLatencies(), 2));
    report.row("read-back", "%,d of %,d written products served with an old price", o.stale(),
        o.written());
  }

  static Outcome load(DemoEnv env, DemoSizes sizes) {
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder(env.name("mixed"))
        .store(env.newStore()).codec(JsonCodec.of(Product.class))
        .ttl(Duration.ofMinutes(10)).ttlJitter(0.1)
        .build();
    TransactionalWrites writes = TransactionalWrites.create(env.pool);
    Function<Long, Mono<Product>> byId = env.byId();

    int n = sizes.mixedRequests();
    long[] ids = new long[n];
    boolean[] isWrite = new boolean[n];
    ZipfKeys keys = new ZipfKeys(sizes.products(), sizes.zipfExponent(), 42);
    Set<Long> written = new TreeSet<>();
    for (int i = 0; i < n; i++) {
      ids[i] = keys.next();
      isWrite[i] = keys.nextIsWrite(sizes.writePercent());
      if (isWrite[i]) {
        written.add(ids[i]);
      }
    }
    long[] latencies = new long[n];
    AtomicInteger failed = new AtomicInteger();
    CacheStats before = products.stats();
    long start = System.nanoTime();
    Flux.range(0, n)
        .flatMap(i -> {
          long id = ids[i];
          long t0 = System.nanoTime();
          Mono<?> call = isWrite[i]
              ? writes.execute(products, id, connection -> DemoEnv.raisePrice(connection, id))
              : products.cacheAside(id, byId);
          return call
              .doOnSuccess(ignored -> latencies[i] = System.nanoTime() - t0)
              .then()
              .onErrorResume(e -> {
                failed.incrementAndGet();
                return Mono.empty();
              });
        }, sizes.mixedConcurrency())
        .blockLast(Duration.ofMinutes(5));
    double seconds = (System.nanoTime() - start) / 1e9;
    CacheStats stats = products.stats().minus(before);

    Long stale = Flux.fromIterable(written)
        .flatMap(id -> Mono.zip(products.cacheAside(id, byId), byId.apply(id)), 16)
        .filter(cachedAndRow -> !cachedAndRow.getT1().equals(cachedAndRow.getT2()))
        .count()
        .block(Duration.ofMinutes(1));
    int writeCount = 0;
    for (boolean w : isWrite) {
      writeCount += w ? 1 : 0;
    }
    return new Outcome(n - writeCount, writeCount, failed.get(), seconds, stats,
        select(latencies, isWrite, false), select(latencies, isWrite, true), written.size(),
        stale == null ? 0 : stale);
  }

  private static long[] select(long[] latencies, boolean[] isWrite, boolean writes) {
    return java.util.stream.IntStream.range(0, latencies.length)
        .filter(i -> isWrite[i] == writes && latencies[i] > 0)
        .mapToLong(i -> latencies[i]).toArray();
  }
}
