package dev.cacheaside.examples.bench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.PgInvalidationListener;
import dev.cacheaside.r2dbc.R2dbcLoaders;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Invalidation from the database itself, end to end: how long after an {@code UPDATE} commits
 * (sent by a plain R2DBC connection, as psql or another service would) the cache stops serving the
 * old value. The path: the row trigger's {@code pg_notify}, delivery at commit to the
 * {@link PgInvalidationListener}'s connection, its {@code invalidateAll}, the {@code DEL} in
 * Redis. Updates run one at a time on a cached key; "commit acknowledged" is when the writer's
 * autocommit {@code UPDATE} returned, "invalidated" when Redis confirmed the delete (a read from
 * then on misses and loads the new row). Prints p50, p99 and max per row of the table.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=InvalidationLatencyBenchmark -DskipTests package}.
 * Options (system properties via {@code -Drun.jvm.args="-Dupdates=..."}): {@code updates} (2000),
 * {@code warmup} (200), {@code rows} (1000).
 */
public final class InvalidationLatencyBenchmark {
  private static final int UPDATES = Integer.getInteger("updates", 2_000);
  private static final int WARMUP = Integer.getInteger("warmup", 200);
  private static final int ROWS = Integer.getInteger("rows", 1_000);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private InvalidationLatencyBenchmark() {}

  /** The store, with a signal when a delete (an invalidation) has been confirmed by Redis. */
  private static final class SignallingStore extends ForwardingCacheStore {
    final AtomicReference<Sinks.One<Long>> armed = new AtomicReference<>();

    SignallingStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public Mono<Void> delete(Collection<String> keys) {
      return super.delete(keys).doOnSuccess(done -> {
        Sinks.One<Long> signal = armed.getAndSet(null);
        if (signal != null) {
          signal.tryEmitValue(System.nanoTime());
        }
      });
    }
  }

  public static void main(String[] args) {
    TestPostgres postgres = TestPostgres.get();
    TestRedis redis = TestRedis.get();
    try (TestSchema schema = postgres.newSchema()) {
      ConnectionFactory db = schema.connectionFactory();
      run(db, "CREATE TABLE product (id bigint PRIMARY KEY, name text NOT NULL,"
          + " price_cents bigint NOT NULL)");
      run(db, "INSERT INTO product SELECT g, 'product ' || g, g * 100 FROM generate_series(1, "
          + ROWS + ") g");

      SignallingStore store = new SignallingStore(RedisCacheStore.create(redis.client()));
      CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("bench-products")
          .store(store).codec(JsonCodec.of(Product.class)).ttl(Duration.ofMinutes(10)).build();
      Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(db,
          "SELECT id, name, price_cents FROM product WHERE id = $1",
          row -> new Product(row.get("id", Long.class), row.get("name", String.class),
              row.get("price_cents", Long.class)));
      PgInvalidationListener listener = PgInvalidationListener.builder(db)
          .table("product", "id", Long::valueOf, products)
          .build();
      listener.installTriggers().then(listener.start()).block(TIMEOUT);

      Connection writer = Mono.<Connection>from(db.create()).block(TIMEOUT);
      System.out.printf(Locale.ROOT, "invalidation latency: committed UPDATE -> cache entry gone,"
              + " %d updates one at a time (after %d warm-up), PostgreSQL %s, Redis %s,"
              + " %d cores%n%n", UPDATES, WARMUP, postgres.version(), redis.version(),
          Runtime.getRuntime().availableProcessors());
      SplittableRandom random = new SplittableRandom(42);
      long[] fromCommit = new long[UPDATES];
      long[] fromSend = new long[UPDATES];
      int early = 0;
      for (int i = -WARMUP; i < UPDATES; i++) {
        long id = 1 + random.nextInt(ROWS);
        Product before = products.cacheAside(id, byId).block(TIMEOUT);
        Sinks.One<Long> invalidated = Sinks.one();
        store.armed.set(invalidated);
        long sent = System.nanoTime();
        Flux.from(writer.createStatement("UPDATE product SET price_cents = price_cents + 1"
                + " WHERE id = $1").bind(0, id).execute())
            .flatMap(result -> result.getRowsUpdated())
            .blockLast(TIMEOUT);
        long committed = System.nanoTime();
        long gone = invalidated.asMono().block(TIMEOUT);
        if (i >= 0) {
          // The notification races the writer's own acknowledgement: count a win as zero.
          early += gone < committed ? 1 : 0;
          fromCommit[i] = Math.max(0, gone - committed);
          fromSend[i] = gone - sent;
        }
        Product after = products.cacheAside(id, byId).block(TIMEOUT);
        if (after == null || before == null || after.priceCents() != before.priceCents() + 1) {
          throw new IllegalStateException("stale read of " + id + ": " + before + " then " + after);
        }
      }
      System.out.println("| measured from | p50 ms | p99 ms | max ms |");
      System.out.println("|---|---:|---:|---:|");
      row("commit acknowledged to the writer", fromCommit);
      row("UPDATE sent", fromSend);
      System.out.printf(Locale.ROOT, "%n%d of %d invalidations completed before the writer saw"
          + " its commit; no read after an invalidation returned the old value.%n", early, UPDATES);
      System.out.printf(Locale.ROOT, "listener: %s%n", listener.stats());
      Mono.from(writer.close()).block(TIMEOUT);
      listener.stop().block(TIMEOUT);
    }
    System.exit(0);
  }

  private static void row(String from, long[] nanos) {
    long max = 0;
    for (long n : nanos) {
      max = Math.max(max, n);
    }
    System.out.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.2f |%n", from,
        Stats.percentileMicros(nanos, 50) / 1000, Stats.percentileMicros(nanos, 99) / 1000,
        max / 1e6);
  }

  private static void run(ConnectionFactory db, String sql) {
    Mono.usingWhen(Mono.<Connection>from(db.create()),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> r.getRowsUpdated()).then(),
            Connection::close)
        .block(TIMEOUT);
  }
}
