package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * "Not found" is cached too (briefly), so a missing id does not hit the database on every read;
 * and an entry nobody can decode is a miss that the database answers, never an error.
 */
final class NotFoundSection {
  private static final Duration NEGATIVE_TTL = Duration.ofSeconds(30);

  private NotFoundSection() {}

  /** Queries made for the reads of a missing id; what answered the read of a corrupt entry. */
  record Outcome(int reads, int queriesForMissing, String corruptAnsweredBy, long corruptCounted) {}

  static void run(DemoEnv env, Report report) {
    report.section("Not found and corrupt entries", "Reads of an id with no row, and a read of"
        + " an entry overwritten with garbage straight in Redis.");
    Outcome outcome = check(env, 5);
    report.row("missing id", "%d reads, %d query to PostgreSQL (\"not found\" cached %d s)",
        outcome.reads(), outcome.queriesForMissing(), NEGATIVE_TTL.toSeconds());
    report.row("corrupt entry", "answered by %s, %d corrupt entry counted and deleted",
        outcome.corruptAnsweredBy(), outcome.corruptCounted());
  }

  static Outcome check(DemoEnv env, int reads) {
    String name = env.name("notfound");
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder(name)
        .store(env.newStore()).codec(JsonCodec.of(Product.class))
        .negativeTtl(NEGATIVE_TTL).build();
    AtomicInteger queries = new AtomicInteger();
    Function<Long, Mono<Product>> byId = env.byId();
    Function<Long, Mono<Product>> counted = id -> {
      queries.incrementAndGet();
      return byId.apply(id);
    };
    for (int i = 0; i < reads; i++) {
      products.cacheAside(-1L, counted).block(Duration.ofSeconds(10));
    }
    int queriesForMissing = queries.get();
    try (StatefulRedisConnection<String, String> connection = env.redis.client().connect()) {
      connection.sync().set(RedisCacheStore.valueKey(name + ":7"), "garbage");
    }
    Product seven = products.cacheAside(7L, counted).block(Duration.ofSeconds(10));
    String answeredBy = seven == null ? "nothing"
        : queries.get() > queriesForMissing ? "PostgreSQL (" + seven.name() + ")" : "the cache";
    return new Outcome(reads, queriesForMissing, answeredBy, products.stats().corruptEntries());
  }
}
