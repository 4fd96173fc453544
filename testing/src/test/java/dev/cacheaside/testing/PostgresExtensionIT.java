package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** The tests run in order: each one checks what the extension did after the one before. */
@ExtendWith(PostgresExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresExtensionIT {

  private static String classSchema = "";
  private static String firstTestSchema = "";

  private final TestSchema constructorSchema;

  PostgresExtensionIT(TestSchema schema) {
    this.constructorSchema = schema;
  }

  @BeforeAll
  static void beforeAll(TestSchema schema) {
    classSchema = schema.name();
  }

  @BeforeEach
  void createTable(ConnectionFactory db) {
    Sql.execute(db, "CREATE TABLE item (id int PRIMARY KEY, name text)");
  }

  @Test
  @Order(1)
  void aTest_getsASchemaOfItsOwn_sharedWithItsConstructorAndBeforeEach(TestSchema schema, ConnectionFactory db) {
    assertThat(schema).isSameAs(constructorSchema);
    assertThat(schema.name()).isNotEqualTo(classSchema);
    assertThat(Sql.single(db, "SELECT current_schema()")).isEqualTo(schema.name());

    Sql.execute(db, "INSERT INTO item VALUES (1, 'first')");
    assertThat(Sql.single(db, "SELECT count(*) FROM item")).isEqualTo("1");
    firstTestSchema = schema.name();
  }

  @Test
  @Order(2)
  void theNextTest_seesNoneOfTheFirstTestsTables(TestSchema schema, ConnectionFactory db) {
    assertThat(schema.name()).isNotEqualTo(firstTestSchema);
    assertThat(Sql.single(db, "SELECT count(*) FROM item")).as("rows in this test's own item table").isEqualTo("0");
    assertThat(Sql.schemaExists(firstTestSchema)).as("the first test's schema is dropped").isFalse();
  }

  @Test
  @Order(3)
  void aTest_mayStopTheServer(TestPostgres postgres) {
    assumeTrue(postgres.managed(), "outage tests need a managed PostgreSQL");
    postgres.stop();
  }

  @Test
  @Order(4)
  void afterAStop_theNextTestFindsItRunning(ConnectionFactory db) {
    assertThat(Sql.single(db, "SELECT count(*) FROM item")).isEqualTo("0");
  }

  @AfterAll
  static void afterAll(TestSchema schema) {
    assertThat(schema.name()).as("@BeforeAll and @AfterAll share the class's schema").isEqualTo(classSchema);
    assertThat(Sql.schemaExists(classSchema)).isTrue();
  }
}
