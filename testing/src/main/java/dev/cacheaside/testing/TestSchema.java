package dev.cacheaside.testing;

import io.r2dbc.spi.ConnectionFactory;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A schema of its own in the {@link TestPostgres} database, made by {@link TestPostgres#newSchema()}:
 * tables a test creates in it are invisible to other tests, and {@link #close()} drops them all.
 *
 * <pre>{@code
 * try (TestSchema schema = TestPostgres.get().newSchema()) {
 *   Mono.from(schema.connectionFactory().create())
 *       .flatMapMany(c -> c.createStatement("CREATE TABLE product (id bigint PRIMARY KEY)").execute())
 *       .blockLast();
 * }
 * }</pre>
 */
public final class TestSchema implements AutoCloseable {

  private final TestPostgres postgres;
  private final String name;
  private final ConnectionFactory connectionFactory;
  private final AtomicBoolean closed = new AtomicBoolean();

  TestSchema(TestPostgres postgres, String name, ConnectionFactory connectionFactory) {
    this.postgres = postgres;
    this.name = name;
    this.connectionFactory = connectionFactory;
  }

  /** The schema's name, e.g. {@code test_7_1a2b3c4d}: a plain lower-case identifier, safe to put in SQL. */
  public String name() {
    return name;
  }

  /**
   * A factory of new, unpooled connections whose {@code search_path} is this schema, so unqualified
   * names in SQL mean tables of this schema.
   */
  public ConnectionFactory connectionFactory() {
    return connectionFactory;
  }

  /** The server the schema lives in. */
  public TestPostgres postgres() {
    return postgres;
  }

  /**
   * Drops the schema and everything in it ({@code DROP SCHEMA ... CASCADE}). Only the first call
   * does anything.
   *
   * @throws IllegalStateException if the server does not answer within 30 seconds
   */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      TestPostgres.execute(postgres.connectionFactory(), "DROP SCHEMA IF EXISTS " + name + " CASCADE");
    }
  }

  @Override
  public String toString() {
    return "TestSchema[" + name + "]";
  }
}
