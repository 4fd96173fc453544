package dev.cacheaside.examples.bench;

import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.R2dbcLoaders;
import dev.cacheaside.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The {@code product} table the comparison reads and writes, in a schema of the test PostgreSQL,
 * behind a connection pool of its own. Its loaders count the queries they send, so a scenario can
 * report database loads rather than loader calls it was told about.
 */
final class ProductTable implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final ConnectionPool pool;
  private final int poolSize;
  private final AtomicLong queries = new AtomicLong();

  private ProductTable(TestSchema schema, int poolSize) {
    this.poolSize = poolSize;
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(schema.connectionFactory())
        .name("comparison-" + schema.name())
        .maxSize(poolSize)
        .build());
  }

  /**
   * Creates the table in {@code schema} with rows {@code 0..rows-1}, named {@code "Product <id>"}.
   * {@link #close()} closes the pool; the schema's owner drops the table with it.
   */
  static ProductTable create(TestSchema schema, int rows, int poolSize) {
    if (rows < 1 || poolSize < 1) {
      throw new IllegalArgumentException("rows and poolSize must be positive, were " + rows + " and "
          + poolSize);
    }
    ProductTable table = new ProductTable(schema, poolSize);
    table.update(c -> c.createStatement("CREATE TABLE product (id bigint PRIMARY KEY,"
        + " name text NOT NULL, price_cents bigint NOT NULL)")).block(WAIT);
    table.update(c -> c.createStatement("INSERT INTO product SELECT i, 'Product ' || i,"
        + " 100 + i % 10000 FROM generate_series(0, $1) AS i").bind("$1", rows - 1)).block(WAIT);
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
        "SELECT id, name, price_cents FROM product" + sleep + " WHERE id = $1", ProductTable::product);
    return id -> Mono.defer(() -> {
      queries.incrementAndGet();
      return byId.apply(id);
    });
  }

  /** Every row, in id order, in one query (not counted: it warms caches, it is not a load). */
  Flux<Product> all() {
    return Flux.usingWhen(pool.create(),
        c -> Flux.from(c.createStatement("SELECT id, name, price_cents FROM product ORDER BY id")
            .execute()).concatMap(result -> result.map((row, metadata) -> product(row))),
        Connection::close);
  }

  /** {@code UPDATE product SET name = $2 WHERE id = $1}, committed; emits the rows updated. */
  Mono<Long> rename(long id, String name) {
    return update(c -> c.createStatement("UPDATE product SET name = $2 WHERE id = $1")
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

  private static Product product(Row row) {
    return new Product(Objects.requireNonNull(row.get("id", Long.class)),
        Objects.requireNonNull(row.get("name", String.class)),
        Objects.requireNonNull(row.get("price_cents", Long.class)));
  }
}
