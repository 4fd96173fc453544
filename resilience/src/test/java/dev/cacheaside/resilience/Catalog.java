package dev.cacheaside.resilience;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The source of truth of the integration tests: a table {@code item(id, value)} in the test's
 * PostgreSQL schema, read and written through R2DBC, as an application's repository would.
 */
final class Catalog implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final ConnectionFactory unpooled;
  private final ConnectionPool pool;

  Catalog(ConnectionFactory schema, int maxConnections) {
    this.unpooled = schema;
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(schema)
        .initialSize(0).maxSize(maxConnections).maxAcquireTime(Duration.ofSeconds(10)).build());
  }

  /** Creates the table with items 0 to {@code n - 1}, each valued {@code "v0-" + id}. */
  Catalog create(int n) {
    execute("CREATE TABLE item (id int PRIMARY KEY, value text NOT NULL)");
    execute("INSERT INTO item SELECT i, 'v0-' || i FROM generate_series(0, " + (n - 1) + ") i");
    return this;
  }

  /** The loader: one row by id, empty if there is none. */
  Mono<String> load(int id) {
    return Mono.usingWhen(pool.create(),
        c -> Mono.from(c.createStatement("SELECT value FROM item WHERE id = $1").bind("$1", id)
                .execute())
            .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, String.class)))),
        Connection::close);
  }

  /** The write: sets one row's value. */
  Mono<String> update(int id, String value) {
    return Mono.usingWhen(pool.create(),
        c -> Mono.from(c.createStatement("UPDATE item SET value = $2 WHERE id = $1")
                .bind("$1", id).bind("$2", value).execute())
            .flatMap(result -> Mono.from(result.getRowsUpdated())),
        Connection::close).thenReturn(value);
  }

  /** Every row, read on a connection of its own (for assertions, on the test thread). */
  Map<Integer, String> all() {
    return Mono.usingWhen(Mono.from(unpooled.create()),
        c -> Flux.from(c.createStatement("SELECT id, value FROM item").execute())
            .flatMap(result -> result.map((row, meta) ->
                Map.entry(row.get(0, Integer.class), row.get(1, String.class))))
            .collectMap(Map.Entry::getKey, Map.Entry::getValue, TreeMap::new),
        Connection::close).block(WAIT);
  }

  private void execute(String sql) {
    Mono.usingWhen(Mono.from(unpooled.create()),
        c -> Flux.from(c.createStatement(sql).execute())
            .flatMap(result -> result.getRowsUpdated()).then(),
        Connection::close).block(WAIT);
  }

  @Override
  public void close() {
    pool.dispose();
  }
}
