package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.ResilientCacheStore;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.config.DestructionAwareBeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.CacheManager;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.publisher.Mono;

/** What the auto-configuration creates, and when it backs off, against the JVM's real Redis. */
@ExtendWith(RedisExtension.class)
class CacheAsideAutoConfigurationIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(CacheAsideAutoConfiguration.class))
      .withPropertyValues("spring.data.redis.host=" + TestRedis.get().uri().getHost(),
          "spring.data.redis.port=" + TestRedis.get().uri().getPort());

  @Test
  void defaults_lettuceClientWithTheCacheOptions_redisStore_resilientStorePrimary() {
    runner.run(context -> {
      assertThat(context).hasNotFailed();
      AbstractRedisClient client = context.getBean("cacheAsideRedisClient", AbstractRedisClient.class);
      assertThat(client).isInstanceOf(RedisClient.class);
      ClientOptions options = ((RedisClient) client).getOptions();
      assertThat(options.getDisconnectedBehavior())
          .isEqualTo(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
      assertThat(options.getTimeoutOptions().isTimeoutCommands()).isTrue();
      assertThat(context).hasSingleBean(RedisCacheStore.class);
      assertThat(context.getBean(CacheStore.class)).isInstanceOf(ResilientCacheStore.class);
      assertThat(context).hasSingleBean(CacheAsideFactory.class)
          .hasSingleBean(CacheAsideCacheManager.class).hasSingleBean(CacheAsideHealthIndicator.class);
    });
  }

  @Test
  void resilienceOff_theRedisStoreIsTheStore() {
    runner.withPropertyValues("cache-aside.resilience.enabled=false").run(context -> {
      assertThat(context).doesNotHaveBean(ResilientCacheStore.class);
      assertThat(context.getBean(CacheStore.class)).isInstanceOf(RedisCacheStore.class);
    });
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnStore {
    @Bean
    CacheStore myStore() {
      return InMemoryCacheStore.create();
    }
  }

  @Test
  void anApplicationStore_replacesTheRedisBeans() {
    runner.withUserConfiguration(OwnStore.class).run(context -> {
      assertThat(context).doesNotHaveBean(AbstractRedisClient.class)
          .doesNotHaveBean(RedisCacheStore.class).doesNotHaveBean(ResilientCacheStore.class);
      assertThat(context.getBean(CacheAsideFactory.class).store())
          .isSameAs(context.getBean("myStore"));
    });
  }

  @Test
  void badPerCacheValue_failsStartUp_namingTheProperty() {
    runner.withPropertyValues("cache-aside.caches.products.ttl-jitter=1.5").run(context ->
        assertThat(context).getFailure()
            .hasStackTraceContaining("cache-aside.caches.products.ttl-jitter=1.5 is refused"));
    runner.withPropertyValues("cache-aside.defaults.early-refresh=xfetch").run(context ->
        assertThat(context).getFailure()
            .hasStackTraceContaining("cache-aside.defaults.early-refresh=xfetch is refused"));
    runner.withPropertyValues("cache-aside.caches.products.ttl=soon").run(context ->
        assertThat(context).getFailure().hasStackTraceContaining("cache-aside.caches.products.ttl"));
  }

  @Test
  void startsAndCachesWithoutJackson2OnTheClassPath() {
    runner.withClassLoader(new FilteredClassLoader("com.fasterxml.jackson.databind"))
        .run(context -> {
          assertThat(context).hasNotFailed();
          CacheAside<Long, String> cache = context.getBean(CacheAsideFactory.class)
              .<Long, String>builder("nojackson2", String.class).build();
          String key = "k" + System.nanoTime();
          assertThat(cache.cacheAside(1L, id -> Mono.just(key)).block(TIMEOUT)).isEqualTo(key);
          assertThat(cache.cacheAside(1L, id -> Mono.just("other")).block(TIMEOUT)).isEqualTo(key);
        });
  }

  @Test
  void cacheAsideBeans_becomeTransactionAware() {
    runner.withUserConfiguration(OwnCache.class).run(context ->
        assertThat(context.getBean("ownCache")).isInstanceOf(TransactionAwareCacheAside.class));
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnCache {
    @Bean
    CacheAside<Long, String> ownCache(CacheAsideFactory caches) {
      return caches.<Long, String>builder("own", String.class).build();
    }
  }

  /** Records the order in which beans are destroyed. */
  static final class DestroyOrder implements DestructionAwareBeanPostProcessor {
    final List<String> destroyed = new CopyOnWriteArrayList<>();

    @Override
    public void postProcessBeforeDestruction(Object bean, String beanName) {
      destroyed.add(beanName);
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class RecordDestroyOrder {
    static final DestroyOrder ORDER = new DestroyOrder();

    @Bean
    static DestroyOrder destroyOrder() {
      return ORDER;
    }
  }

  @Test
  void shutdown_caches_thenResilientStore_thenRedisStore_thenClient() {
    RecordDestroyOrder.ORDER.destroyed.clear();
    runner.withUserConfiguration(RecordDestroyOrder.class, OwnCache.class).run(context -> {
      context.getBean(CacheManager.class).getCache("products");
    });
    List<String> order = RecordDestroyOrder.ORDER.destroyed;

    assertThat(order).containsSubsequence("ownCache", "cacheAsideStore", "cacheAsideRedisStore",
        "cacheAsideRedisClient", "cacheAsideClientResources");
    assertThat(order).containsSubsequence("cacheAsideCacheManager", "cacheAsideStore");
  }

  @Test
  void health_degradedWhileRedisIsDown_upWhenItIsBack(TestRedis redis) {
    runner.run(context -> {
      CacheAsideHealthIndicator health = context.getBean(CacheAsideHealthIndicator.class);
      CacheAside<Long, String> cache = context.getBean(CacheAsideFactory.class)
          .<Long, String>builder("health", String.class).build();
      assertThat(health.health().block(TIMEOUT).getStatus()).isEqualTo(Status.UP);

      redis.stop();
      Health down = health.health().block(TIMEOUT);
      assertThat(down.getStatus()).isEqualTo(CacheAsideHealthIndicator.DEGRADED);
      assertThat(down.getDetails()).containsKeys("circuitBreaker", "pendingInvalidations", "lastPing");
      // reads are still answered, from the loader
      assertThat(cache.cacheAside(1L, id -> Mono.just("from the database")).block(TIMEOUT))
          .isEqualTo("from the database");

      redis.start();
      org.awaitility.Awaitility.await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(50))
          .until(() -> {
            cache.cacheAside(2L, id -> Mono.just("x")).block(TIMEOUT); // traffic closes the breaker
            return health.health().block(TIMEOUT).getStatus().equals(Status.UP);
          });
    });
  }
}
