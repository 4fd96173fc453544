package dev.cacheaside.examples.boot;

import com.github.benmanes.caffeine.cache.Caffeine;
import dev.cacheaside.spring.boot.CacheAsideCacheManager;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.CachingConfigurer;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.cache.caffeine.CaffeineCacheManager;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Mono;

/**
 * The catalog service on Spring Boot with the cache-aside starter: nothing but properties wires
 * Redis (see application.properties). Run it with {@code mvn -B -q -Pboot -DskipTests package};
 * it starts embedded Redis and PostgreSQL unless {@code CACHE_ASIDE_REDIS_URI} /
 * {@code CACHE_ASIDE_PG_URL} name servers, and seeds 1,000 products.
 *
 * <pre>
 * curl -s localhost:8080/products/42
 * curl -s -X PUT -H 'Content-Type: application/json' -d '{"name":"Blue Kettle","priceCents":2599}' localhost:8080/products/42
 * curl -s localhost:8080/actuator/health
 * curl -s localhost:8080/actuator/caches
 * curl -s localhost:8080/actuator/prometheus | grep '^cache_gets'
 * </pre>
 */
@SpringBootApplication
@EnableCaching
public class CatalogApplication {

  /** Starts the service on the JVM's embedded (or named) Redis and PostgreSQL. */
  public static void main(String[] args) {
    start(args);
  }

  /**
   * Starts an instance; {@code args} are Spring Boot arguments ({@code --server.port=0},
   * {@code --catalog.load-delay=50ms}, ...). Every instance of one JVM shares one Redis and one
   * database schema.
   */
  public static ConfigurableApplicationContext start(String... args) {
    return start(new Class<?>[0], args);
  }

  /** {@link #start(String...)} with more configuration classes (the tests' hooks). */
  public static ConfigurableApplicationContext start(Class<?>[] sources, String... args) {
    List<String> all = new ArrayList<>(List.of(
        "--spring.data.redis.url=redis://" + TestRedis.get().uri().getHost() + ":"
            + TestRedis.get().uri().getPort(),
        "--spring.r2dbc.url=" + TestPostgres.get().r2dbcUrl() + "?schema=" + Schema.name()));
    all.addAll(List.of(args));
    Class<?>[] primary = new Class<?>[sources.length + 1];
    primary[0] = CatalogApplication.class;
    System.arraycopy(sources, 0, primary, 1, sources.length);
    return SpringApplication.run(primary, all.toArray(String[]::new));
  }

  /** The schema of this JVM's instances, created and seeded once. */
  static final class Schema {
    private static String name;

    static synchronized String name() {
      if (name == null) {
        TestSchema schema = TestPostgres.get().newSchema();
        DatabaseClient db = DatabaseClient.create(schema.connectionFactory());
        db.sql("CREATE TABLE product (id BIGINT PRIMARY KEY, name TEXT NOT NULL,"
            + " price_cents BIGINT NOT NULL)").then().block();
        db.sql("INSERT INTO product SELECT i, 'Product ' || i, 100 + i * 7 % 5000"
            + " FROM generate_series(1, 1000) i").then().block();
        name = schema.name();
      }
      return name;
    }
  }

  /** No work inside the transaction by default. */
  @Bean
  WriteHook writeHook() {
    return id -> Mono.empty();
  }

  /** The application's other Spring cache: an in-process Caffeine one, for currency rates. */
  @Bean
  CaffeineCacheManager caffeineCacheManager() {
    CaffeineCacheManager manager = new CaffeineCacheManager("rates");
    manager.setCaffeine(Caffeine.newBuilder().recordStats().maximumSize(1_000));
    manager.setAsyncCacheMode(true);
    return manager;
  }

  /** Two cache managers: the annotations without cacheManager = ... use cache-aside's. */
  @Bean
  CachingConfigurer cachingConfigurer(CacheAsideCacheManager cacheAsideCacheManager) {
    return new CachingConfigurer() {
      @Override
      public CacheManager cacheManager() {
        return cacheAsideCacheManager;
      }
    };
  }
}
