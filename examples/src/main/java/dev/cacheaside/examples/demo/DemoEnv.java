package dev.cacheaside.examples.demo;

import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.R2dbcBulkLoader;
import dev.cacheaside.r2dbc.R2dbcLoaders;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What the sections share: the Redis and PostgreSQL of this JVM (embedded ones unless
 * {@code CACHE_ASIDE_REDIS_URI} / {@code CACHE_ASIDE_PG_URL} name servers), a schema of its own
 * with a {@code product} table, a connection pool on it, and a run id that keeps the cache names
 * of two runs on one Redis apart. Main-thread only: it blocks while it sets up and closes.
 */
final class DemoEnv implements AutoCloseable {
  static final String BY_ID = "SELECT id, name, price_cents FROM product WHERE id = $1";
  static final String BY_IDS = "SELECT id, name, price_cents FROM product WHERE id = ANY($1)";
  static final String RAISE_PRICE =
      "UPDATE product SET price_cents = price_cents + 1 WHERE id = $1";

  final TestRedis redis;
  final TestPostgres postgres;
  final ConnectionPool pool;
  final String run = Long.toString(System.currentTimeMillis(), 36);
  private final TestSchema schema;
  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();

  DemoEnv(int products) {
    redis = TestRedis.get();
    postgres = TestPostgres.get();
    schema = postgres.newSchema();
    ConnectionFactory unpooled = schema.connectionFactory();
    execute(unpooled, "CREATE TABLE product (id bigint PRIMARY KEY, name text NOT NULL,"
        + " price_cents bigint NOT NULL)");
    execute(unpooled, "INSERT INTO product SELECT i, 'Product ' || i, 100 + i"
        + " FROM generate_series(1, " + products + ") i");
    pool = new ConnectionPool(ConnectionPoolConfiguration.builder(unpooled)
        .maxSize(16).maxAcquireTime(Duration.ofSeconds(5)).build());
  }

  /** A cache name unique to this run. */
  String name(String base) {
    return "demo-" + run + "-" + base;
  }

  /** A store on a new connection of the shared client, closed with the environment. */
  RedisCacheStore newStore() {
    return closeLater(RedisCacheStore.create(redis.client()));
  }

  <T extends AutoCloseable> T closeLater(T closeable) {
    closeables.push(closeable);
    return closeable;
  }

  Function<Long, Mono<Product>> byId() {
    return R2dbcLoaders.byId(pool, BY_ID, DemoEnv::product);
  }

  R2dbcBulkLoader<Long, Product> byIds() {
    return R2dbcLoaders.byIds(pool, BY_IDS, Long.class, DemoEnv::product, Product::id);
  }

  static Product product(Row row) {
    Long id = row.get("id", Long.class);
    String name = row.get("name", String.class);
    Long price = row.get("price_cents", Long.class);
    if (id == null || name == null || price == null) {
      throw new IllegalStateException("product row with a null column: " + id);
    }
    return new Product(id, name, price);
  }

  /** Raises a product's price by a cent on the given connection (a transaction's). */
  static Mono<Long> raisePrice(Connection connection, long id) {
    return Mono.from(connection.createStatement(RAISE_PRICE).bind("$1", id).execute())
        .flatMap(result -> Mono.from(result.getRowsUpdated()));
  }

  @Override
  public void close() {
    while (!closeables.isEmpty()) {
      try {
        closeables.pop().close();
      } catch (Exception e) {
        throw new IllegalStateException("closing the demo failed", e);
      }
    }
    pool.dispose();
    schema.close();
  }

  private static void execute(ConnectionFactory factory, String sql) {
    Mono.usingWhen(Mono.from(factory.create()),
        c -> Flux.from(c.createStatement(sql).execute())
            .flatMap(result -> result.getRowsUpdated()).then(),
        Connection::close).block(Duration.ofMinutes(1));
  }
}
