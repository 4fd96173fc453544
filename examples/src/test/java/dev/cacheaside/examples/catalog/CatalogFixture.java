package dev.cacheaside.examples.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cacheaside.examples.Product;
import io.lettuce.core.RedisClient;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * A catalog on the test's Redis and PostgreSQL schema, with {@value #PRODUCTS} products seeded,
 * for the HTTP adapters' tests; and the request bodies and JSON helpers they share.
 */
public final class CatalogFixture implements AutoCloseable {
  /** Products 1..PRODUCTS exist. */
  public static final int PRODUCTS = 200;
  /** A wait no test should reach. */
  public static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** An id no product has. */
  public static final long UNKNOWN = 999_999;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ConnectionPool pool;
  private final Catalog catalog;

  private CatalogFixture(RedisClient redis, ConnectionFactory db) {
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(db)
        .initialSize(0).maxSize(4).maxAcquireTime(TIMEOUT).build());
    ProductTable.createAndSeed(pool, PRODUCTS).block(TIMEOUT);
    this.catalog = Catalog.create(redis, pool);
  }

  /** Seeds the schema of {@code db} and builds the catalog over it. */
  public static CatalogFixture create(RedisClient redis, ConnectionFactory db) {
    return new CatalogFixture(redis, db);
  }

  /** The pool over the seeded schema. */
  public ConnectionFactory pool() {
    return pool;
  }

  /** The catalog. */
  public Catalog catalog() {
    return catalog;
  }

  /** A valid {@code PUT} body. */
  public static String body(String name, long priceCents) {
    return "{\"name\":\"" + name + "\",\"priceCents\":" + priceCents + "}";
  }

  /** The JSON of {@code text}. */
  public static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + text, e);
    }
  }

  /** The JSON of a product, as the catalog writes it. */
  public static JsonNode json(Product product) {
    try {
      return JSON.readTree(JSON.writeValueAsString(product)); // numbers as a parser reads them
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    catalog.close();
    pool.disposeLater().block(TIMEOUT);
  }
}
