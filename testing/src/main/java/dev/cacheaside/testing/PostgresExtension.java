package dev.cacheaside.testing;

import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests the {@link TestPostgres} of the JVM and a schema of their own: each test gets a fresh
 * {@link TestSchema}, dropped after it, and a server that is running again after it if the test
 * stopped it.
 *
 * <p>Resolves parameters of type {@link TestPostgres}, {@link TestSchema} and
 * {@link ConnectionFactory} (that schema's factory: unqualified table names are the test's own).
 * Test methods, {@code @BeforeEach}/{@code @AfterEach} methods and constructors see the test's
 * schema; {@code @BeforeAll}/{@code @AfterAll} methods see a schema of the test class, dropped after
 * all its tests.
 *
 * <pre>{@code
 * @ExtendWith(PostgresExtension.class)
 * class ProductLoaderIT {
 *   @BeforeEach
 *   void createTable(ConnectionFactory db) { ... }   // CREATE TABLE product (...)
 *
 *   @Test
 *   void loadsById(ConnectionFactory db) { ... }      // the same schema as createTable's
 * }
 * }</pre>
 */
public final class PostgresExtension
    implements BeforeEachCallback, AfterEachCallback, AfterAllCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PostgresExtension.class);

  /** Called by JUnit. */
  public PostgresExtension() {}

  @Override
  public ExtensionContextScope getTestInstantiationExtensionContextScope(ExtensionContext rootContext) {
    return ExtensionContextScope.TEST_METHOD; // so a constructor parameter is the test's schema
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    TestPostgres.get().restore(); // in case a @BeforeAll or a test without this extension left it down
    schema(context);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    try {
      TestPostgres postgres = TestPostgres.current();
      if (postgres != null) {
        postgres.restore();
      }
    } finally {
      dropSchema(context);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    dropSchema(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == TestPostgres.class || type == TestSchema.class || type == ConnectionFactory.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    if (type == TestPostgres.class) {
      return TestPostgres.get();
    }
    TestSchema schema = schema(context);
    return type == TestSchema.class ? schema : schema.connectionFactory();
  }

  /**
   * The schema of this context (a test, or a test class), created on first use. The key names the
   * context: a store lookup falls back to the parent context's store, and a test must not get its
   * class's schema.
   */
  private static TestSchema schema(ExtensionContext context) {
    return context.getStore(NAMESPACE)
        .getOrComputeIfAbsent(key(context), key -> TestPostgres.get().newSchema(), TestSchema.class);
  }

  private static void dropSchema(ExtensionContext context) {
    TestSchema schema = context.getStore(NAMESPACE).remove(key(context), TestSchema.class);
    if (schema != null) {
      schema.close();
    }
  }

  private static String key(ExtensionContext context) {
    return "schema@" + context.getUniqueId();
  }
}
