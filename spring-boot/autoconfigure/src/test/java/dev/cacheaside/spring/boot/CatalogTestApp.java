package dev.cacheaside.spring.boot;

import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import dev.cacheaside.core.CacheAside;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.CachePut;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.CachingConfigurer;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.cache.caffeine.CaffeineCacheManager;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.annotation.Transactional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A small application for the auto-configuration's integration tests: products in PostgreSQL
 * (Spring's {@link DatabaseClient}), read through {@code @Cacheable} methods, and a second,
 * Caffeine-backed Spring cache beside ours.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
@EnableCaching
class CatalogTestApp {
  /** One schema per test JVM, shared by every context started here. */
  private static @Nullable TestSchema schema;

  record Product(long id, String name, long priceCents) {}

  private static @Nullable ConfigurableApplicationContext shared;

  /** The instance shared by the test classes of this JVM (closed by Spring's shutdown hook). */
  static synchronized ConfigurableApplicationContext shared() {
    if (shared == null) {
      shared = start();
      shared.getBean(ProductService.class).createTable().block(java.time.Duration.ofSeconds(10));
    }
    return shared;
  }

  /** Starts an instance on the JVM's Redis and PostgreSQL; {@code extra} are more properties. */
  static synchronized ConfigurableApplicationContext start(String... extra) {
    if (schema == null) {
      schema = TestPostgres.get().newSchema();
    }
    String[] properties = {
        "spring.data.redis.url=redis://" + TestRedis.get().uri().getHost() + ":"
            + TestRedis.get().uri().getPort(),
        "spring.r2dbc.url=" + TestPostgres.get().r2dbcUrl() + "?schema=" + schema.name(),
        "spring.main.banner-mode=off",
        "management.endpoints.access.default=unrestricted",
        "cache-aside.caches.products.ttl=10m",
        "cache-aside.caches.products.negative-ttl=1m",
        "cache-aside.caches.lists.ttl=10m"};
    String[] all = new String[properties.length + extra.length];
    System.arraycopy(properties, 0, all, 0, properties.length);
    System.arraycopy(extra, 0, all, properties.length, extra.length);
    return new SpringApplicationBuilder(CatalogTestApp.class)
        .web(WebApplicationType.NONE).properties(all).run();
  }

  /** The second Spring cache: Caffeine, as many applications have one beside a remote cache. */
  @Bean
  CaffeineCacheManager caffeineCacheManager() {
    CaffeineCacheManager manager = new CaffeineCacheManager("greetings");
    manager.setCaffeine(com.github.benmanes.caffeine.cache.Caffeine.newBuilder().recordStats());
    return manager;
  }

  /** With two cache managers, Spring needs to be told the default one. */
  @Bean
  CachingConfigurer cachingConfigurer(CacheAsideCacheManager cacheAsideCacheManager) {
    return new CachingConfigurer() {
      @Override
      public org.springframework.cache.CacheManager cacheManager() {
        return cacheAsideCacheManager;
      }
    };
  }

  /** A cache of the application's own, built with its properties; made transaction-aware. */
  @Bean
  CacheAside<Long, Product> productsById(CacheAsideFactory caches) {
    return caches.<Long, Product>builder("productsById", Product.class).build();
  }

  @Bean
  ProductService productService(DatabaseClient db) {
    return new ProductService(db);
  }

  /** The annotated service: every load is a real query, counted per key. */

  static class ProductService {
    final DatabaseClient db;
    final Map<Object, AtomicInteger> loads = new ConcurrentHashMap<>();

    ProductService(DatabaseClient db) {
      this.db = db;
    }

    int loads(Object key) {
      AtomicInteger count = loads.get(key);
      return count == null ? 0 : count.get();
    }

    Mono<Void> createTable() {
      return db.sql("CREATE TABLE IF NOT EXISTS product (id BIGINT PRIMARY KEY, name TEXT NOT NULL,"
          + " price_cents BIGINT NOT NULL)").then();
    }

    Mono<Void> insert(long id, String name, long price) {
      return db.sql("INSERT INTO product (id, name, price_cents) VALUES ($1, $2, $3)"
              + " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents")
          .bind(0, id).bind(1, name).bind(2, price).then();
    }

    Mono<Product> query(long id) {
      return db.sql("SELECT id, name, price_cents FROM product WHERE id = $1").bind(0, id)
          .map(row -> new Product(row.get("id", Long.class), row.get("name", String.class),
              row.get("price_cents", Long.class)))
          .one();
    }

    @Cacheable("products")
    public Mono<Product> product(long id) {
      return Mono.defer(() -> {
        loads.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        return query(id);
      });
    }

    @Cacheable(cacheNames = "products", key = "#id", unless = "#result == null")
    public Mono<Product> productUnlessNull(long id) {
      return Mono.defer(() -> {
        loads.computeIfAbsent("unless:" + id, k -> new AtomicInteger()).incrementAndGet();
        return query(id);
      });
    }

    @Cacheable("lists")
    public Flux<Product> cheaperThan(long priceCents, String prefix) {
      return Flux.defer(() -> {
        loads.computeIfAbsent(List.of(priceCents, prefix), k -> new AtomicInteger())
            .incrementAndGet();
        return db.sql("SELECT id, name, price_cents FROM product WHERE price_cents < $1 AND"
                + " name LIKE $2 ORDER BY id")
            .bind(0, priceCents).bind(1, prefix + "%")
            .map(row -> new Product(row.get("id", Long.class), row.get("name", String.class),
                row.get("price_cents", Long.class)))
            .all();
      });
    }

    @Transactional
    @CacheEvict(cacheNames = "products", key = "#id")
    public Mono<Long> rename(long id, String name) {
      return db.sql("UPDATE product SET name = $2 WHERE id = $1").bind(0, id).bind(1, name)
          .fetch().rowsUpdated();
    }

    /**
     * Renames in a transaction and holds it open, after the UPDATE and before the commit, until
     * {@code hold} completes: where a concurrent read is forced to land.
     */
    @Transactional
    @CacheEvict(cacheNames = "products", key = "#id")
    public Mono<Long> renameHolding(long id, String name, Mono<Void> hold) {
      return db.sql("UPDATE product SET name = $2 WHERE id = $1").bind(0, id).bind(1, name)
          .fetch().rowsUpdated().flatMap(updated -> hold.thenReturn(updated));
    }

    @CachePut(cacheNames = "products", key = "#id")
    public Mono<Product> reprice(long id, long price) {
      return db.sql("UPDATE product SET price_cents = $2 WHERE id = $1").bind(0, id).bind(1, price)
          .then().then(query(id));
    }

    @CacheEvict(cacheNames = "products", allEntries = true)
    public Mono<Void> clearProducts() {
      return Mono.empty();
    }

    /** The second Spring cache, Caffeine's. */
    @Cacheable(cacheNames = "greetings", cacheManager = "caffeineCacheManager")
    public String greeting(String name) {
      return "hello " + name;
    }
  }
}
