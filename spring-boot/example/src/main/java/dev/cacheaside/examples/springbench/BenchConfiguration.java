package dev.cacheaside.examples.springbench;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.examples.boot.Product;
import dev.cacheaside.examples.boot.ProductRepository;
import dev.cacheaside.spring.boot.CacheAsideFactory;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.cache.RedisCacheConfiguration;
import org.springframework.data.redis.cache.RedisCacheManager;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.serializer.JacksonJsonRedisSerializer;
import org.springframework.data.redis.serializer.RedisSerializationContext.SerializationPair;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/**
 * The benchmark's additions to the catalog application: the same product endpoint three ways,
 * each with its own query counter. In a package of its own, outside the application's component
 * scan, so that only the benchmark adds it.
 */
@Configuration(proxyBeanMethods = false)
public class BenchConfiguration {

  /** Spring Data Redis's cache manager, set up as its documentation shows, with JSON values. */
  @Bean
  LettuceConnectionFactory benchRedisConnectionFactory(
      @Value("${spring.data.redis.url}") String url) {
    java.net.URI uri = java.net.URI.create(url);
    LettuceConnectionFactory factory = new LettuceConnectionFactory(
        new RedisStandaloneConfiguration(uri.getHost(), uri.getPort()));
    factory.setEagerInitialization(true);
    return factory;
  }

  @Bean
  RedisCacheManager redisCacheManager(LettuceConnectionFactory benchRedisConnectionFactory) {
    RedisCacheConfiguration config = RedisCacheConfiguration.defaultCacheConfig()
        .entryTtl(Duration.ofMinutes(10))
        .serializeValuesWith(SerializationPair.fromSerializer(
            new JacksonJsonRedisSerializer<>(Product.class)));
    return RedisCacheManager.builder(benchRedisConnectionFactory).cacheDefaults(config).build();
  }

  /** {@code cacheAside} called directly, built with the starter's factory. */
  @Bean
  CacheAside<Long, Product> benchDirect(CacheAsideFactory caches) {
    return caches.<Long, Product>builder("bench-direct", Product.class)
        .ttl(Duration.ofMinutes(10)).build();
  }

  @Bean
  BenchService benchService(ProductRepository repository) {
    return new BenchService(repository);
  }

  /** The loads, slowed like a real query under load, and counted per variant. */
  public static class BenchService {
    final ProductRepository repository;
    final LongAdder starter = new LongAdder();
    final LongAdder spring = new LongAdder();
    final LongAdder direct = new LongAdder();

    BenchService(ProductRepository repository) {
      this.repository = repository;
    }

    /** The three counters, read through methods: the service is a proxy, its fields are not. */
    public long loads(String variant) {
      return switch (variant) {
        case "starter" -> starter.sum();
        case "spring" -> spring.sum();
        default -> direct.sum();
      };
    }

    /** The loader of the direct variant. */
    public Mono<Product> loadDirect(long id) {
      return load(id, direct);
    }

    Mono<Product> load(long id, LongAdder counter) {
      return Mono.defer(() -> {
        counter.increment();
        return repository.findById(id).delayUntil(p -> Mono.delay(SpringCacheBenchmark.LOAD_DELAY));
      });
    }

    @Cacheable("bench-starter")
    public Mono<Product> starter(long id) {
      return load(id, starter);
    }

    @Cacheable(cacheNames = "bench-spring", cacheManager = "redisCacheManager")
    public Mono<Product> spring(long id) {
      return load(id, spring);
    }
  }

  @RestController
  static class BenchController {
    private final BenchService service;
    private final CacheAside<Long, Product> direct;

    BenchController(BenchService service, CacheAside<Long, Product> direct) {
      this.service = service;
      this.direct = direct;
    }

    @GetMapping("/bench/starter/{id}")
    Mono<Product> starter(@PathVariable long id) {
      return service.starter(id);
    }

    @GetMapping("/bench/spring/{id}")
    Mono<Product> spring(@PathVariable long id) {
      return service.spring(id);
    }

    @GetMapping("/bench/direct/{id}")
    Mono<Product> direct(@PathVariable long id) {
      return direct.cacheAside(id, service::loadDirect);
    }
  }
}
