package dev.cacheaside.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests the {@link TestRedis} of the JVM: an empty one (FLUSHALL) before each test, and one
 * that is running again after it, however the test left it (stopped, frozen).
 *
 * <p>Resolves parameters of test methods, constructors and lifecycle methods of type
 * {@link TestRedis}, {@link RedisClient} (the shared client: do not shut it down) and
 * {@link RedisURI} (a copy).
 *
 * <p>Tests that use it must not run in parallel with each other: one test's FLUSHALL would delete
 * another's keys, and one test's {@code stop()} would fail another.
 *
 * <pre>{@code
 * @ExtendWith(RedisExtension.class)
 * class LeaseIT {
 *   @Test
 *   void lease_isGrantedOnce(RedisClient client) { ... }
 *
 *   @Test
 *   void get_whenRedisIsFrozen_timesOut(TestRedis redis) {
 *     redis.freeze(); // thawed again after the test
 *     ...
 *   }
 * }
 * }</pre>
 */
public final class RedisExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {

  /** Called by JUnit. */
  public RedisExtension() {}

  @Override
  public ExtensionContextScope getTestInstantiationExtensionContextScope(ExtensionContext rootContext) {
    return ExtensionContextScope.TEST_METHOD;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    TestRedis redis = TestRedis.get();
    redis.restore(); // in case a @BeforeAll or a test without this extension left it down
    redis.flushAll();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    TestRedis redis = TestRedis.current();
    if (redis != null) {
      redis.restore();
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == TestRedis.class || type == RedisClient.class || type == RedisURI.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    TestRedis redis = TestRedis.get();
    Class<?> type = parameter.getParameter().getType();
    if (type == RedisClient.class) {
      return redis.client();
    }
    if (type == RedisURI.class) {
      return redis.uri();
    }
    return redis;
  }
}
