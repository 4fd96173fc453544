package dev.cacheaside.examples.bench;

import dev.cacheaside.examples.Product;
import dev.cacheaside.testing.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The correctness scenarios of {@link ComparisonBenchmark}, shared with its test so that what the
 * benchmark reports is what the test asserts: a cold-key stampede across instances, and the
 * stale-set race forced into its bad order. Both run against a real Redis and a real PostgreSQL
 * table.
 */
final class ComparisonScenarios {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private ComparisonScenarios() {}

  /**
   * {@code instances} new instances of {@code approach} on {@code namespace} (so the key is cold),
   * each read by {@code callers} concurrent callers of product {@code id}, whose loader is a query
   * taking {@code queryTime} on the server. The loader sends its query once every caller has
   * arrived (see {@link Stampede#allArrived()}). Returns the queries sent and each caller's latency.
   */
  static Stampede.Outcome stampede(Approach approach, TestRedis redis, CountedProducts table,
      String namespace, int instances, int callers, long id, Duration queryTime) {
    List<Contender> contenders = new ArrayList<>();
    try {
      for (int i = 0; i < instances; i++) {
        contenders.add(approach.open(redis, namespace));
      }
      Stampede stampede = new Stampede();
      Function<Long, Mono<Product>> query = table.loader(queryTime);
      Function<Long, Mono<Product>> loader = key -> stampede.allArrived().then(query.apply(key));
      List<Supplier<Mono<Product>>> reads = new ArrayList<>();
      contenders.forEach(c -> reads.add(() -> c.read(id, loader)));
      long before = table.queries();
      long[] latencies = stampede.run(reads, callers);
      return new Stampede.Outcome(table.queries() - before, latencies);
    } finally {
      contenders.forEach(Contender::close);
    }
  }

  /**
   * The stale-set race, forced, on product {@code id} (which must not be cached in
   * {@code namespace} yet): a reader instance misses and loads the row, and holds its result; a
   * writer instance then renames the row in the database (committed) and invalidates the key; then
   * the reader's load completes and the reader stores what it read, or is refused. Returns whether
   * a read afterwards, through the writer instance, serves the old name: a stale entry that stays
   * until its TTL.
   */
  static boolean staleSetRace(Approach approach, TestRedis redis, CountedProducts table,
      String namespace, long id) {
    try (Contender reader = approach.open(redis, namespace);
        Contender writer = approach.open(redis, namespace)) {
      Function<Long, Mono<Product>> query = table.loader(Duration.ZERO);
      Sinks.Empty<Void> loaded = Sinks.empty();
      Sinks.Empty<Void> release = Sinks.empty();
      CompletableFuture<Product> read = reader.read(id, key -> query.apply(key)
          .delayUntil(old -> {
            loaded.tryEmitEmpty();
            return release.asMono();
          })).toFuture();
      loaded.asMono().block(WAIT); // the reader has the old row in hand
      String renamed = "renamed in " + namespace;
      writer.writeThenInvalidate(id, table.rename(id, renamed)).block(WAIT);
      release.tryEmitEmpty(); // now the reader's store lands (or is refused)
      Mono.fromFuture(read).block(WAIT);
      Product after = Objects.requireNonNull(writer.read(id, query).block(WAIT), "no product " + id);
      return !after.name().equals(renamed);
    }
  }
}
