package dev.cacheaside.examples.bench;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * BlockHound allowance for Spring Data Redis in this module's tests only (the comparison runs
 * Spring's {@code RedisCache} to show how it behaves; the library itself needs no allowance).
 * {@code LettuceConnectionFactory.getReactiveConnection()}, which every {@code RedisCache.retrieve}
 * and async store calls on the calling thread (a Reactor or Lettuce event-loop thread), hands out
 * the shared connection under a {@code ReentrantLock}; when two threads meet there the loser parks
 * for the microseconds the other holds it, which BlockHound reports as a blocking call. At this
 * test's sizes that is rare (two runs without this allowance passed), but possible at any time, so
 * the Spring runs of {@link ComparisonScenariosIT} allow it. The connection is opened at start-up
 * ({@code setEagerInitialization(true)}), so no network I/O happens under that lock.
 *
 * <p>Registered through {@code META-INF/services} in the test resources.
 */
public final class SpringDataRedisBlockHoundIntegration implements BlockHoundIntegration {
  /** Used by the service loader. */
  public SpringDataRedisBlockHoundIntegration() {}

  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside(
        "org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory",
        "getReactiveConnection");
  }
}
