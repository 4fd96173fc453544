package dev.cacheaside.examples.bench;

import dev.cacheaside.examples.Product;
import dev.cacheaside.examples.catalog.ProductTable;
import dev.cacheaside.r2dbc.R2dbcLoaders;
import dev.cacheaside.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The catalog's {@code products} table ({@link ProductTable}) in a schema of the test PostgreSQL,
 * behind a connection pool of its own, with loaders that count the queries they send, so a
 * scenario reports database loads rather than loader calls it was told about.
 */
final class CountedProducts implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final ConnectionPool pool;
  private final int poolSize;
  private final AtomicLong queries = new AtomicLong();

  private CountedProducts(TestSchema schema, int poolSize) {
    this.poolSize = poolSize;
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(schema.connectionFactory())
        .name("comparison-" + schema.name())
        .maxSize(poolSize)
        .build());
  }

  /**
   * Creates the table in {@code schema} with products {@code 1..rows} ({@link ProductTable#seeded}).
   * {@link #close()} closes the pool; the schema's owner drops the table with it.
   */
  static CountedProducts create(TestSchema schema, int rows, int poolSize) {
    if (rows < 1 || poolSize < 1) {
      throw new IllegalArgumentException("rows and poolSize must be positive, were " + rows + " and "
          + poolSize);
    }
    CountedProducts table = new CountedProducts(schema, poolSize);
    ProductTable.createAndSeed(table.pool, rows).block(WAIT);
    return table;
  }

  /**
   * A loader of one row by id, one query per call: {@code SELECT ... WHERE id = $1}, with
   * {@code pg_sleep} in its {@code FROM} when {@code queryTime} is positive, so the query itself
   * takes that long on the server (a slow query, not a client-side delay). Counts each query when
   * it is sent.
   */
  Function<Long, Mono<Product>> loader(Duration queryTime) {
    String sleep = queryTime.isZero() ? ""
        : String.format(Locale.ROOT, ", pg_sleep(%.3f)", queryTime.toNanos() / 1e9);
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool,
        "SELECT id, name, price_cents FROM products" + sleep + " WHERE id = $1", ProductTable::fromRow);
    return id -> Mono.defer(() -> {
      queries.incrementAndGet();
      return byId.apply(id);
    });
  }

  /** Every row, in id order, in one query (not counted: it warms caches, it is not a load). */
  Flux<Product> all() {
    return Flux.usingWhen(pool.create(),
        c -> Flux.from(c.createStatement("SELECT id, name, price_cents FROM products ORDER BY id")
            .execute()).concatMap(result -> result.map((row, metadata) -> ProductTable.fromRow(row))),
        Connection::close);
  }

  /** {@code UPDATE products SET name = $2 WHERE id = $1}, committed; emits the rows updated. */
  Mono<Long> rename(long id, String name) {
    return update(c -> c.createStatement("UPDATE products SET name = $2 WHERE id = $1")
        .bind("$1", id).bind("$2", name));
  }

  /** Queries sent by this table's loaders so far. */
  long queries() {
    return queries.get();
  }

  /** The most connections the pool opens. */
  int poolSize() {
    return poolSize;
  }

  /** Closes the pool (the table stays, in its schema). */
  @Override
  public void close() {
    pool.dispose();
  }

  private Mono<Long> update(Function<Connection, Statement> statement) {
    return Mono.usingWhen(pool.create(),
        c -> Flux.from(statement.apply(c).execute()).flatMap(Result::getRowsUpdated)
            .reduce(0L, Long::sum),
        Connection::close);
  }
}
