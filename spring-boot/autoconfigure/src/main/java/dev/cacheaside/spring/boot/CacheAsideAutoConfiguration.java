package dev.cacheaside.spring.boot;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.jackson.JacksonCodec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.resilience.ResilienceMetrics;
import dev.cacheaside.resilience.ResilientCacheStore;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Set;
import org.springframework.aop.Advisor;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.cache.metrics.CacheMeterBinderProvider;
import org.springframework.boot.cache.metrics.CacheMetricsRegistrar;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.cache.interceptor.CacheOperationSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.context.annotation.Role;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.transaction.reactive.TransactionSynchronizationManager;
import tools.jackson.databind.json.JsonMapper;

/**
 * Auto-configures cache-aside on Redis from Spring Boot's own {@code spring.data.redis.*}.
 *
 * <p>Beans, each left out when the application declares its own (by name for the Lettuce
 * client and its resources, by type for the rest):
 * <ul>
 *   <li>{@code cacheAsideClientResources} and {@code cacheAsideRedisClient}: a Lettuce
 *       {@link RedisClient} or, with {@code spring.data.redis.cluster.nodes}, a
 *       {@link RedisClusterClient}, with the options a cache wants (see
 *       {@link CacheAsideProperties.Redis});</li>
 *   <li>{@code cacheAsideRedisStore}: the {@link RedisCacheStore}, and
 *       {@code cacheAsideStore}: a {@link ResilientCacheStore} around it (primary; off with
 *       {@code cache-aside.resilience.enabled=false}). Both back off when the application
 *       declares a {@link CacheStore} of its own;</li>
 *   <li>{@link CacheAsideFactory}: builds caches with their {@code cache-aside.*} settings;</li>
 *   <li>{@code cacheAsideCacheManager}: the {@link CacheAsideCacheManager} for Spring's cache
 *       annotations, with what makes reactive {@code @Cacheable} one load per key and
 *       {@code @CacheEvict} wait for the commit;</li>
 *   <li>every {@link CacheAside} bean made {@link TransactionAwareCacheAside};</li>
 *   <li>with Micrometer, the caches' meters in Spring's cache conventions and the resilient
 *       store's; with Actuator's health, {@link CacheAsideHealthIndicator}.</li>
 * </ul>
 *
 * <h2>Shutdown</h2>
 * Spring destroys beans in the reverse order of their dependencies: the caches first, then the
 * resilient store (its {@code close()} ends the invalidation replay), then the Redis store (its
 * connections), then the client and its resources.
 *
 * @since 0.1
 */
@AutoConfiguration(
    beforeName = "org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration",
    afterName = {"org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration",
        "org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration"})
@ConditionalOnClass({CacheAside.class, RedisCacheStore.class})
@ConditionalOnProperty(prefix = "cache-aside", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(CacheAsideProperties.class)
public class CacheAsideAutoConfiguration {

  /** Created by Spring. */
  public CacheAsideAutoConfiguration() {}

  /** The Redis store and what it needs; backs off when the application has its own store. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnMissingBean(CacheStore.class)
  static class RedisStoreConfiguration {

    @Bean(destroyMethod = "shutdown")
    @ConditionalOnMissingBean(name = "cacheAsideClientResources")
    ClientResources cacheAsideClientResources(CacheAsideProperties properties) {
      return LettuceClients.resources(properties.getRedis());
    }

    @Bean(destroyMethod = "shutdown")
    @ConditionalOnMissingBean(name = "cacheAsideRedisClient")
    AbstractRedisClient cacheAsideRedisClient(Environment environment,
        CacheAsideProperties properties, ClientResources cacheAsideClientResources,
        ObjectProvider<SslBundles> sslBundles) {
      return LettuceClients.client(RedisSettings.bind(Binder.get(environment)),
          properties.getRedis(), cacheAsideClientResources, sslBundles.getIfAvailable());
    }

    @Bean(destroyMethod = "close")
    RedisCacheStore cacheAsideRedisStore(AbstractRedisClient cacheAsideRedisClient) {
      // blocks while the connection opens, once, at start-up
      if (cacheAsideRedisClient instanceof RedisClusterClient cluster) {
        return RedisCacheStore.create(cluster);
      }
      return RedisCacheStore.create((RedisClient) cacheAsideRedisClient);
    }

    @Bean(destroyMethod = "close")
    @Primary
    @ConditionalOnProperty(prefix = "cache-aside.resilience", name = "enabled",
        matchIfMissing = true)
    ResilientCacheStore cacheAsideStore(RedisCacheStore cacheAsideRedisStore,
        CacheAsideProperties properties) {
      CacheAsideProperties.Resilience resilience = properties.getResilience();
      // The Redis store is a bean of its own, closed by the context after this one.
      ResilientCacheStore.Builder builder = ResilientCacheStore.builder(cacheAsideRedisStore)
          .ownsStore(false);
      if (resilience.getTimeLimit() != null) {
        builder.timeLimit(resilience.getTimeLimit());
      }
      if (resilience.getBulkTimeLimit() != null) {
        builder.bulkTimeLimit(resilience.getBulkTimeLimit());
      }
      if (resilience.getMaxPendingInvalidations() != null) {
        builder.maxPendingInvalidations(resilience.getMaxPendingInvalidations());
      }
      return builder.build();
    }
  }

  @Bean
  @ConditionalOnMissingBean
  SpringCacheKeyFormat cacheAsideKeyFormat() {
    return SpringCacheKeyFormat.standard();
  }

  @Bean
  @ConditionalOnMissingBean
  CacheAsideFactory cacheAsideFactory(CacheStore store, ObjectProvider<JsonMapper> jsonMapper,
      CacheAsideProperties properties, ObjectProvider<CacheAsideCustomizer> customizers) {
    return new CacheAsideFactory(store, jsonMapper.getIfAvailable(JacksonCodec::defaultMapper),
        properties.getDefaults(), properties.getCaches(), customizers.orderedStream().toList());
  }

  /** Spring's cache abstraction. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnProperty(prefix = "cache-aside.cache-manager", name = "enabled",
      matchIfMissing = true)
  static class CacheManagerConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "cacheAsideCacheManager")
    CacheAsideCacheManager cacheAsideCacheManager(CacheAsideFactory factory,
        SpringCacheKeyFormat keyFormat, ObjectProvider<JsonMapper> jsonMapper,
        CacheAsideProperties properties) {
      return new CacheAsideCacheManager(factory, keyFormat,
          jsonMapper.getIfAvailable(JacksonCodec::defaultMapper), properties.getCaches().keySet(),
          properties.getCacheManager().isDynamic());
    }

    @Bean(CacheAsideCacheResolver.BEAN_NAME)
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    CacheAsideCacheResolver cacheAsideCacheResolver(CacheAsideCacheManager cacheAsideCacheManager) {
      return new CacheAsideCacheResolver(cacheAsideCacheManager);
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    CacheOperationRewriter cacheAsideCacheOperationRewriter(
        ObjectProvider<CacheAspectSupport> interceptors, BeanFactory beanFactory,
        CacheAsideCacheManager cacheAsideCacheManager, CacheAsideProperties properties) {
      return new CacheOperationRewriter(interceptors, beanFactory, cacheAsideCacheManager,
          properties.getCacheManager().isReactiveSync());
    }

    /**
     * Outside Spring's cache interceptor (order {@code LOWEST_PRECEDENCE}, unless
     * {@code @EnableCaching(order)} says otherwise), on methods returning Mono or Flux.
     */
    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static Advisor cacheAsideInvocationAdvisor(ObjectProvider<CacheOperationSource> sources) {
      DefaultPointcutAdvisor advisor = new DefaultPointcutAdvisor(
          new ReactiveCacheMethodPointcut(sources), new CacheAsideInvocationInterceptor());
      advisor.setOrder(Ordered.LOWEST_PRECEDENCE - 1000);
      return advisor;
    }
  }

  /** Every {@code CacheAside} bean made transaction-aware. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(TransactionSynchronizationManager.class)
  static class TransactionConfiguration {
    @Bean
    static TransactionAwareCacheAsidePostProcessor cacheAsideTransactionAwarePostProcessor() {
      return new TransactionAwareCacheAsidePostProcessor();
    }
  }

  /** Meters in Spring's cache conventions. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass({MeterRegistry.class, CacheMeterBinderProvider.class})
  static class MetricsConfiguration {

    /** How Boot's cache metrics registrar binds the manager's caches. */
    @Bean
    CacheMeterBinderProvider<CacheAsideSpringCache> cacheAsideCacheMeterBinderProvider() {
      return SpringCacheMetrics::new;
    }

    /**
     * Caches the manager creates after start-up (Boot binds the ones that exist then), the
     * {@code CacheAside} beans of the application, and the resilient store.
     */
    @Bean
    MeterBinder cacheAsideMeterBinder(ObjectProvider<CacheAsideCacheManager> managers,
        ObjectProvider<CacheMetricsRegistrar> registrars, ObjectProvider<CacheAside<?, ?>> caches,
        ObjectProvider<ResilientCacheStore> stores) {
      return registry -> {
        CacheMetricsRegistrar registrar = registrars.getIfAvailable();
        managers.ifAvailable(manager -> {
          Set<String> atStart = Set.copyOf(manager.getCacheNames());
          manager.onCacheCreated(cache -> {
            if (registrar != null && !atStart.contains(cache.getName())) {
              registrar.bindCacheToRegistry(cache, Tag.of("cache.manager", "cacheAside"));
            }
          });
        });
        caches.orderedStream().forEach(cache -> SpringCacheMetrics.standalone(cache).bindTo(registry));
        stores.orderedStream().forEach(store -> ResilienceMetrics.of(store).bindTo(registry));
      };
    }
  }

  /** The health indicator: DEGRADED, never DOWN, while the cache is away. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(ReactiveHealthIndicator.class)
  @ConditionalOnEnabledHealthIndicator("cacheaside")
  static class HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "cacheAsideHealthIndicator")
    CacheAsideHealthIndicator cacheAsideHealthIndicator(ObjectProvider<RedisCacheStore> redis,
        CacheStore store, ObjectProvider<ResilientCacheStore> resilient,
        CacheAsideProperties properties) {
      RedisCacheStore raw = redis.getIfAvailable();
      CacheStore pinged = raw != null ? raw : store;
      Duration timeout = properties.getHealth().getPingTimeout();
      return new CacheAsideHealthIndicator(pinged, resilient.getIfAvailable(), timeout);
    }
  }
}
