package dev.cacheaside.examples.catalog;

import dev.cacheaside.examples.Product;
import dev.cacheaside.r2dbc.R2dbcBulkLoader;
import dev.cacheaside.r2dbc.R2dbcLoaders;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import java.util.Objects;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The {@code products} table in PostgreSQL: its DDL and seed, its R2DBC loaders for the cache, and
 * its update. Unqualified names, so the table lives in the connection's {@code search_path}.
 *
 * <pre>{@code
 * ProductTable.createAndSeed(pool, 1_000).block();
 * Function<Long, Mono<Product>> byId = ProductTable.byId(pool);
 * R2dbcBulkLoader<Long, Product> byIds = ProductTable.byIds(pool);
 * }</pre>
 */
public final class ProductTable {
  private static final String COLUMNS = "id, name, price_cents";
  private static final String[] ADJECTIVES = {"Red", "Quiet", "Sturdy", "Tiny", "Golden", "Swift",
      "Classic", "Smart"};
  private static final String[] NOUNS = {"Kettle", "Lamp", "Backpack", "Chair", "Notebook",
      "Headphones", "Mug", "Bicycle", "Umbrella", "Clock"};

  private ProductTable() {}

  /**
   * Creates the table if it does not exist and inserts products {@code 1..count} that are not
   * there yet, each as {@link #seeded(long)} describes (existing rows are left as they are).
   *
   * @return the number of rows inserted
   * @throws IllegalArgumentException at once if {@code count} is negative
   */
  public static Mono<Long> createAndSeed(ConnectionFactory db, int count) {
    Objects.requireNonNull(db, "db must not be null");
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, was " + count);
    }
    // The seed is computed in SQL from the id (same formula as seeded(id)), so one statement
    // inserts any number of rows.
    String insert = "INSERT INTO products (" + COLUMNS + ") "
        + "SELECT i, (ARRAY[" + sqlArray(ADJECTIVES) + "])[1 + i % " + ADJECTIVES.length + "]"
        + " || ' ' || (ARRAY[" + sqlArray(NOUNS) + "])[1 + (i / " + ADJECTIVES.length + ") % "
        + NOUNS.length + "] || ' #' || i, 100 + (i * 37) % 9900 "
        + "FROM generate_series(1, $1) AS i ON CONFLICT (id) DO NOTHING";
    return Mono.usingWhen(Mono.from(db.create()),
        connection -> execute(connection, "CREATE TABLE IF NOT EXISTS products ("
                + "id bigint PRIMARY KEY, name text NOT NULL, price_cents bigint NOT NULL)")
            .then(Flux.from(connection.createStatement(insert).bind(0, (long) count).execute())
                .flatMap(result -> Mono.from(result.getRowsUpdated()))
                .reduce(0L, Long::sum)),
        Connection::close);
  }

  /** The product that {@link #createAndSeed} inserts for {@code id}: for tests and examples. */
  public static Product seeded(long id) {
    String name = ADJECTIVES[(int) (id % ADJECTIVES.length)] + " "
        + NOUNS[(int) ((id / ADJECTIVES.length) % NOUNS.length)] + " #" + id;
    return new Product(id, name, 100 + (id * 37) % 9900);
  }

  /**
   * The ids of the {@code n} most requested products, hottest first, for warming the cache at
   * start-up. The seeded table keeps no sales or page views; the demo's traffic picks ids on a Zipf
   * curve whose hottest ids are the lowest, so id order is this catalog's popularity. A real
   * service would rank by orders or views here (or read yesterday's top keys from its logs).
   */
  public static Flux<Long> hottest(ConnectionFactory db, int n) {
    return Flux.usingWhen(db.create(),
        connection -> Flux.from(connection
                .createStatement("SELECT id FROM products ORDER BY id LIMIT $1").bind(0, n)
                .execute())
            .flatMap(result -> result.map((row, metadata) ->
                Objects.requireNonNull(row.get("id", Long.class), "id"))),
        Connection::close);
  }

  /** The loader of one product by id ({@code WHERE id = $1}), for {@code cacheAside}. */
  public static Function<Long, Mono<Product>> byId(ConnectionFactory db) {
    return R2dbcLoaders.byId(db, "SELECT " + COLUMNS + " FROM products WHERE id = $1",
        ProductTable::fromRow);
  }

  /** The loader of many products in one query ({@code = ANY($1)}), for {@code cacheAsideAll}. */
  public static R2dbcBulkLoader<Long, Product> byIds(ConnectionFactory db) {
    return R2dbcLoaders.byIds(db, "SELECT " + COLUMNS + " FROM products WHERE id = ANY($1)",
        Long.class, ProductTable::fromRow, Product::id);
  }

  /**
   * Updates the name and price of {@code product} on {@code connection} (the caller's
   * transaction). Emits the row as stored; completes empty when there is no product with that id.
   */
  public static Mono<Product> update(Connection connection, Product product) {
    return Flux.from(connection
            .createStatement("UPDATE products SET name = $1, price_cents = $2 WHERE id = $3"
                + " RETURNING " + COLUMNS)
            .bind(0, product.name()).bind(1, product.priceCents()).bind(2, product.id())
            .execute())
        .flatMap(result -> result.map((row, metadata) -> fromRow(row)))
        .singleOrEmpty();
  }

  /** The product of a row with the columns {@code id, name, price_cents}. */
  public static Product fromRow(Row row) {
    return new Product(
        Objects.requireNonNull(row.get("id", Long.class), "id"),
        Objects.requireNonNull(row.get("name", String.class), "name"),
        Objects.requireNonNull(row.get("price_cents", Long.class), "price_cents"));
  }

  private static Mono<Void> execute(Connection connection, String sql) {
    return Flux.from(connection.createStatement(sql).execute())
        .flatMap(result -> Mono.from(result.getRowsUpdated()))
        .then();
  }

  private static String sqlArray(String[] words) {
    StringBuilder sql = new StringBuilder();
    for (String word : words) {
      sql.append(sql.length() == 0 ? "" : ", ").append('\'').append(word).append('\'');
    }
    return sql.toString();
  }
}
