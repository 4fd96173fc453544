package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class PostgresServerIT {

  private final TestPostgres postgres = TestPostgres.get();

  @AfterEach
  void restore() {
    postgres.restore();
  }

  @Test
  void get_startsOneServer_thatAnswersThroughFactoryAndPool() {
    assertThat(TestPostgres.get()).as("one per JVM").isSameAs(postgres);
    assertThat(postgres.version()).matches("\\d+(\\.\\d+)?.*");
    if (postgres.managed()) {
      assertThat(postgres.host()).isEqualTo("127.0.0.1");
      assertThat(postgres.database()).isEqualTo("postgres");
    }
    assertThat(Sql.single(postgres.connectionFactory(), "SELECT current_user")).isEqualTo(postgres.username());
    assertThat(Sql.single(postgres.pool(), "SELECT 40 + 2")).isEqualTo("42");
    assertThat(postgres.r2dbcUrl()).startsWith("r2dbc:postgresql://" + postgres.username() + "@");
  }

  @Test
  void newSchema_isTheSearchPathOfItsConnections_andCloseDropsIt() {
    TestSchema schema = postgres.newSchema();
    try (schema) {
      ConnectionFactory db = schema.connectionFactory();
      assertThat(Sql.single(db, "SELECT current_schema()")).isEqualTo(schema.name());

      Sql.execute(db,
          "CREATE TABLE product (id bigint PRIMARY KEY, name text NOT NULL)",
          "INSERT INTO product VALUES (1, 'chair'), (2, 'table')");

      assertThat(Sql.column(db, "SELECT name FROM product ORDER BY id")).containsExactly("chair", "table");
      assertThat(Sql.single(postgres.connectionFactory(), "SELECT count(*) FROM " + schema.name() + ".product"))
          .isEqualTo("2");
    }
    assertThat(Sql.schemaExists(schema.name())).isFalse();
    schema.close(); // again: nothing happens
  }

  @Test
  void newSchema_givesEveryCallItsOwnName() {
    try (TestSchema first = postgres.newSchema(); TestSchema second = postgres.newSchema()) {
      assertThat(first.name()).isNotEqualTo(second.name()).matches("[a-z0-9_]+");
    }
  }

  @Test
  void stop_refusesConnections_start_keepsTheDataOnTheSamePort() {
    assumeTrue(postgres.managed(), "outage tests need a managed PostgreSQL");
    int port = postgres.port();
    try (TestSchema schema = postgres.newSchema()) {
      Sql.execute(schema.connectionFactory(),
          "CREATE TABLE kept (v text)",
          "INSERT INTO kept VALUES ('before the stop')");
      assertThat(Sql.single(postgres.pool(), "SELECT 1")).isEqualTo("1"); // the pool holds a connection now

      postgres.stop();

      StepVerifier.create(Mono.usingWhen(Mono.from(postgres.connectionFactory().create()), c -> Mono.just(1), Connection::close))
          .as("connecting to a stopped server")
          .expectError()
          .verify(Duration.ofSeconds(15));

      postgres.start();

      assertThat(postgres.port()).isEqualTo(port);
      assertThat(Sql.single(schema.connectionFactory(), "SELECT v FROM kept")).isEqualTo("before the stop");
      assertThat(Sql.single(postgres.pool(), "SELECT 2")).as("the pool drops broken connections").isEqualTo("2");
    }
  }

  @Test
  void restore_startsAStoppedServer() {
    assumeTrue(postgres.managed(), "outage tests need a managed PostgreSQL");
    postgres.stop();
    postgres.restore();
    assertThat(Sql.single(postgres.connectionFactory(), "SELECT 1")).isEqualTo("1");
  }
}
