package dev.cacheaside.examples.demo;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
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
 * an entry of ours that nobody can decode is a miss that the database answers, never an error, and
 * is replaced; a value another application wrote at the key is a miss too, but left alone.
 */
final class NotFoundSection {
  private static final Duration NEGATIVE_TTL = Duration.ofSeconds(30);

  private NotFoundSection() {}

  /**
   * Queries made for the reads of a missing id; what answered the read of a corrupt entry and of a
   * foreign value, how many of each were counted, and whether the foreign value is still there.
   */
  record Outcome(int reads, int queriesForMissing, String corruptAnsweredBy, long corruptCounted,
      String foreignAnsweredBy, long foreignCounted, boolean foreignKept) {}

  static void run(DemoEnv env, Report report) {
    report.section("Not found, corrupt and foreign entries", "Reads of an id with no row; a read"
        + " of an entry another codec wrote; a read of a value another application SET straight"
        + " in Redis at the key.");
    Outcome outcome = check(env, 5);
    report.row("missing id", "%d reads, %d query to PostgreSQL (\"not found\" cached %d s)",
        outcome.reads(), outcome.queriesForMissing(), NEGATIVE_TTL.toSeconds());
    report.row("corrupt entry", "answered by %s, %d corrupt entry counted and deleted",
        outcome.corruptAnsweredBy(), outcome.corruptCounted());
    report.row("foreign value", "answered by %s, %d foreign entry counted and %s",
        outcome.foreignAnsweredBy(), outcome.foreignCounted(),
        outcome.foreignKept() ? "left alone" : "deleted");
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

    // An entry of ours that this cache cannot decode: what a codec change without a new
    // schemaVersion leaves behind.
    CacheAside<Long, String> otherCodec = CacheAside.<Long, String>builder(name)
        .store(env.newStore()).codec(Codec.utf8()).build();
    otherCodec.cacheAside(7L, id -> Mono.just("not a product")).block(Duration.ofSeconds(10));
    int before = queries.get();
    Product seven = products.cacheAside(7L, counted).block(Duration.ofSeconds(10));
    String corruptAnsweredBy = answeredBy(seven, queries.get() > before);

    String foreignKey =
        RedisCacheStore.valueKey(products.storeKey(8L).block(Duration.ofSeconds(10)));
    boolean foreignKept;
    String foreignAnsweredBy;
    try (StatefulRedisConnection<String, String> connection = env.redis.client().connect()) {
      connection.sync().set(foreignKey, "written by another application");
      before = queries.get();
      Product eight = products.cacheAside(8L, counted).block(Duration.ofSeconds(10));
      foreignAnsweredBy = answeredBy(eight, queries.get() > before);
      foreignKept = "written by another application".equals(connection.sync().get(foreignKey));
    }
    return new Outcome(reads, queriesForMissing, corruptAnsweredBy,
        products.stats().corruptEntries(), foreignAnsweredBy, products.stats().foreignEntries(),
        foreignKept);
  }

  private static String answeredBy(Product product, boolean queried) {
    return product == null ? "nothing"
        : queried ? "PostgreSQL (" + product.name() + ")" : "the cache";
  }
}
