package dev.cacheaside.r2dbc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import java.util.Objects;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Loaders for {@code CacheAside.cacheAside} and {@code cacheAsideAll} that read PostgreSQL through
 * R2DBC: a SQL text with one bind parameter and a row mapper is all they need.
 *
 * <pre>{@code
 * ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(factory).build());
 *
 * Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool,
 *     "SELECT id, name, price FROM product WHERE id = $1", Product::fromRow);
 * R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool,
 *     "SELECT id, name, price FROM product WHERE id = ANY($1)", Long.class,
 *     Product::fromRow, Product::id);
 *
 * Mono<Product> one = products.cacheAside(42L, byId);
 * Flux<BulkResult<Long, Product>> many = products.cacheAsideAll(ids, byIds);
 * }</pre>
 *
 * <p>Every call takes one connection from the factory (use a pool, such as r2dbc-pool's
 * {@code ConnectionPool}) and gives it back when the query completes, fails or is cancelled. A
 * cancelled query is not cancelled on the server: it runs to its end there (bound it with
 * {@code statement_timeout}), and its connection returns to the pool as soon as the driver has read
 * the rest of its answer.
 *
 * @since 0.1
 */
public final class R2dbcLoaders {
  private R2dbcLoaders() {}

  /**
   * A loader of one row by its key: {@code sql} takes the key as its only bind parameter
   * {@code $1}, for example {@code SELECT id, name FROM product WHERE id = $1}.
   *
   * <p>The returned function's Mono emits the mapped row; completes empty when the query returns no
   * row ("not found", which the cache stores as a negative entry); errors with the driver's error
   * when the query fails, with {@link IllegalStateException} when it returns more than one row,
   * and with {@link NullPointerException} when the mapper returns null. Nothing runs until
   * subscription; a cancel gives the connection back.
   *
   * @param connections where connections come from (a pool, ideally)
   * @param sql the query, with {@code $1} for the key
   * @param mapper turns the row into a value; called on the driver's thread, so it must not block
   * @param <K> the key type; bound as is, so a type the driver can bind (Long, Integer, String,
   *     UUID, ...)
   * @param <V> the value type
   * @throws NullPointerException at once if an argument is null
   * @throws IllegalArgumentException at once if {@code sql} is blank or has no {@code $1}
   */
  public static <K, V> Function<K, Mono<V>> byId(ConnectionFactory connections, String sql,
      Function<? super Row, ? extends V> mapper) {
    Objects.requireNonNull(connections, "connections must not be null");
    checkSql(sql);
    Objects.requireNonNull(mapper, "mapper must not be null");
    return key -> {
      Objects.requireNonNull(key, "key must not be null");
      return R2dbcLoaders.<V>query(connections, sql, key, mapper)
          .singleOrEmpty()
          .onErrorMap(IndexOutOfBoundsException.class, e -> new IllegalStateException(
              "query returned more than one row for key " + key + " (a by-id loader needs at most"
                  + " one): " + sql, e));
    };
  }

  /**
   * A loader of many rows by their keys in one query: {@code sql} takes the keys as an array in
   * its only bind parameter {@code $1}, for example
   * {@code SELECT id, name FROM product WHERE id = ANY($1)}.
   *
   * @param connections where connections come from (a pool, ideally)
   * @param sql the query, with {@code $1} for the array of keys
   * @param keyType the class of the keys, which makes the array's element type: {@code Long.class}
   *     binds a {@code bigint[]}, {@code Integer.class} an {@code int[]}, {@code String.class} a
   *     {@code varchar[]}, {@code UUID.class} a {@code uuid[]}
   * @param mapper turns a row into a value; called on the driver's thread, so it must not block
   * @param keyOf the key of a value, to match rows to the keys asked for
   * @param <K> the key type
   * @param <V> the value type
   * @throws NullPointerException at once if an argument is null
   * @throws IllegalArgumentException at once if {@code sql} is blank or has no {@code $1}, or if
   *     {@code keyType} is a primitive or an array type
   */
  public static <K, V> R2dbcBulkLoader<K, V> byIds(ConnectionFactory connections, String sql,
      Class<K> keyType, Function<? super Row, ? extends V> mapper, Function<V, K> keyOf) {
    Objects.requireNonNull(connections, "connections must not be null");
    checkSql(sql);
    Objects.requireNonNull(keyType, "keyType must not be null");
    if (keyType.isPrimitive() || keyType.isArray()) {
      throw new IllegalArgumentException("keyType must be a class such as Long.class, not "
          + keyType.getTypeName());
    }
    Objects.requireNonNull(mapper, "mapper must not be null");
    Objects.requireNonNull(keyOf, "keyOf must not be null");
    return new R2dbcBulkLoader<>(connections, sql, keyType, mapper, keyOf);
  }

  private static void checkSql(String sql) {
    Objects.requireNonNull(sql, "sql must not be null");
    if (sql.isBlank()) {
      throw new IllegalArgumentException("sql must not be blank");
    }
    if (!sql.contains("$1")) {
      throw new IllegalArgumentException("sql must take its key(s) as the bind parameter $1: "
          + sql);
    }
  }

  /**
   * Runs {@code sql} with {@code parameter} as {@code $1} on a connection of its own and emits the
   * mapped rows; the connection is closed (given back to its pool) on completion, error and cancel.
   */
  static <V> Flux<V> query(ConnectionFactory connections, String sql, Object parameter,
      Function<? super Row, ? extends V> mapper) {
    return Flux.usingWhen(
        connections.create(),
        connection -> Flux.from(connection.createStatement(sql).bind(0, parameter).execute())
            .concatMap(result -> result.map((row, metadata) -> Objects.<V>requireNonNull(
                mapper.apply(row), () -> "row mapper returned null for a row of: " + sql))),
        Connection::close);
  }
}
