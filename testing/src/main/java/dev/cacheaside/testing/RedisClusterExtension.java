package dev.cacheaside.testing;

import io.lettuce.core.cluster.RedisClusterClient;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests the {@link TestRedisCluster} of the JVM, every node running (a node an earlier test
 * stopped is started again) and emptied (FLUSHALL on every master) before each test.
 *
 * <p>Resolves parameters of test methods, constructors and lifecycle methods of type
 * {@link TestRedisCluster} and {@link RedisClusterClient} (the shared client: do not shut it down).
 *
 * <pre>{@code
 * @ExtendWith(RedisClusterExtension.class)
 * class ClusterStoreIT {
 *   @Test
 *   void getAll_splitsBySlot(RedisClusterClient client) { ... }
 * }
 * }</pre>
 */
public final class RedisClusterExtension implements BeforeEachCallback, ParameterResolver {

  /** Called by JUnit. */
  public RedisClusterExtension() {}

  @Override
  public ExtensionContextScope getTestInstantiationExtensionContextScope(ExtensionContext rootContext) {
    return ExtensionContextScope.TEST_METHOD;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    TestRedisCluster cluster = TestRedisCluster.get();
    cluster.restore(); // in case an earlier test left a node stopped
    cluster.flushAll();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == TestRedisCluster.class || type == RedisClusterClient.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    TestRedisCluster cluster = TestRedisCluster.get();
    return parameter.getParameter().getType() == RedisClusterClient.class ? cluster.client() : cluster;
  }
}
