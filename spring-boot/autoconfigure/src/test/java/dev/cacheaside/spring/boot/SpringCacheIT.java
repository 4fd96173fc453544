package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.spring.boot.CatalogTestApp.Product;
import dev.cacheaside.spring.boot.CatalogTestApp.ProductService;
import dev.cacheaside.testing.RedisExtension;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.cache.actuate.endpoint.CachesEndpoint;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.SimpleKey;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Spring's cache annotations on methods returning Mono and Flux, served by the auto-configured
 * cache manager on real Redis and PostgreSQL: one application context for the class.
 */
@ExtendWith(RedisExtension.class)
class SpringCacheIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static ConfigurableApplicationContext app;
  private static ProductService service;

  @BeforeAll
  static void start() {
    app = CatalogTestApp.shared();
    service = app.getBean(ProductService.class);
  }

  /** A product id no other test uses. */
  private static long newProduct(String name, long price) {
    long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    service.insert(id, name, price).block(TIMEOUT);
    return id;
  }

  @Test
  void cacheable_mono_concurrentCallers_oneQuery_thenHits() {
    long id = newProduct("Kettle", 2599);

    List<Product> answers = Flux.range(0, 50)
        .flatMap(i -> service.product(id).subscribeOn(Schedulers.parallel()))
        .collectList().block(TIMEOUT);

    assertThat(answers).hasSize(50).containsOnly(new Product(id, "Kettle", 2599));
    assertThat(service.loads(id)).as("queries for 50 concurrent callers").isEqualTo(1);
    StepVerifier.create(service.product(id)).expectNext(new Product(id, "Kettle", 2599))
        .verifyComplete();
    assertThat(service.loads(id)).isEqualTo(1);
  }

  @Test
  void cacheable_mono_notFound_isCachedAsNegative() {
    long missing = -ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);

    StepVerifier.create(service.product(missing)).verifyComplete();
    StepVerifier.create(service.product(missing)).verifyComplete();

    assertThat(service.loads(missing)).as("an empty Mono is cached as 'not found'").isEqualTo(1);
  }

  @Test
  void cacheable_flux_cachedAsOneList_emptyResultCachedAsNotFound() {
    long cheap = newProduct("Flux-cup", 100);
    long cheaper = newProduct("Flux-cup", 50);
    String prefix = "Flux-cup";

    List<Product> first = service.cheaperThan(1_000, prefix).collectList().block(TIMEOUT);
    List<Product> second = service.cheaperThan(1_000, prefix).collectList().block(TIMEOUT);
    StepVerifier.create(service.cheaperThan(1_000, "no-such-prefix")).verifyComplete();
    StepVerifier.create(service.cheaperThan(1_000, "no-such-prefix")).verifyComplete();

    assertThat(first).extracting(Product::id).contains(cheap, cheaper);
    assertThat(second).isEqualTo(first);
    assertThat(service.loads(List.of(1_000L, prefix))).isEqualTo(1);
    assertThat(service.loads(List.of(1_000L, "no-such-prefix"))).isEqualTo(1);
  }

  @Test
  void cacheEvict_afterTheMethod_nextReadLoadsTheNewRow() {
    long id = newProduct("Lamp", 1999);
    service.product(id).block(TIMEOUT);

    StepVerifier.create(service.rename(id, "Desk lamp")).expectNext(1L).verifyComplete();

    assertThat(service.product(id).block(TIMEOUT)).isEqualTo(new Product(id, "Desk lamp", 1999));
    assertThat(service.loads(id)).isEqualTo(2);
  }

  @Test
  void cacheEvict_allEntries_bumpsTheGeneration() {
    long a = newProduct("A", 1);
    long b = newProduct("B", 2);
    service.product(a).block(TIMEOUT);
    service.product(b).block(TIMEOUT);

    service.clearProducts().block(TIMEOUT);
    service.product(a).block(TIMEOUT);
    service.product(b).block(TIMEOUT);

    assertThat(service.loads(a)).isEqualTo(2);
    assertThat(service.loads(b)).isEqualTo(2);
  }

  @Test
  void cachePut_evicts_soTheNextReadLoadsTheWrittenRow() {
    long id = newProduct("Mug", 450);
    service.product(id).block(TIMEOUT);

    assertThat(service.reprice(id, 500).block(TIMEOUT)).isEqualTo(new Product(id, "Mug", 500));

    assertThat(service.product(id).block(TIMEOUT)).isEqualTo(new Product(id, "Mug", 500));
    assertThat(service.loads(id)).isEqualTo(2);
  }

  @Test
  void cacheable_withUnless_notSync_stillCachesThroughRetrieveAndPut() {
    long id = newProduct("Spoon", 120);

    assertThat(service.productUnlessNull(id).block(TIMEOUT)).isEqualTo(new Product(id, "Spoon", 120));
    assertThat(service.productUnlessNull(id).block(TIMEOUT)).isEqualTo(new Product(id, "Spoon", 120));

    assertThat(service.loads("unless:" + id)).isEqualTo(1);
    // the same entry serves the sync method too (same cache, same key)
    assertThat(service.product(id).block(TIMEOUT)).isEqualTo(new Product(id, "Spoon", 120));
    assertThat(service.loads(id)).isZero();
  }

  @Test
  void directUse_blockingGetOnANonBlockingThread_isRefused_retrieveWorks() {
    Cache cache = app.getBean("cacheAsideCacheManager", CacheManager.class).getCache("products");
    long id = newProduct("Plate", 800);
    service.product(id).block(TIMEOUT);

    assertThat(cache.get(id, Product.class)).isEqualTo(new Product(id, "Plate", 800));
    assertThat(cache.get(id).get()).isInstanceOf(java.util.Map.class); // untyped: JSON's own types
    assertThat(Mono.fromCallable(() -> (Object) cache.get(id)).subscribeOn(Schedulers.parallel())
        .onErrorResume(e -> Mono.just(e)).block(TIMEOUT))
        .isInstanceOf(IllegalStateException.class);
    assertThat(Mono.fromFuture(cache.retrieve(id)).block(TIMEOUT))
        .isInstanceOf(Cache.ValueWrapper.class);

    cache.put(id, new Product(id, "ignored", 0)); // put evicts
    org.awaitility.Awaitility.await().atMost(TIMEOUT)
        .until(() -> cache.get(id, Product.class) == null);
  }

  @Test
  void keys_simpleKeyOfTwoArguments_isOneEntry_distinctFromLookalikes() {
    Cache cache = app.getBean("cacheAsideCacheManager", CacheManager.class).getCache("lists");
    CacheAside<Object, byte[]> nativeCache = ((CacheAsideSpringCache) cache).getNativeCache();

    service.cheaperThan(7, "a,b").collectList().block(TIMEOUT);

    assertThat(cache.get(new SimpleKey(7L, "a,b"))).isNotNull();
    assertThat(cache.get(new SimpleKey(7L, "a", "b"))).isNull();
    assertThat(nativeCache.name()).isEqualTo("lists");
  }

  @Test
  void actuatorCaches_listsTheConfiguredCaches() {
    CachesEndpoint endpoint = new CachesEndpoint(app.getBeansOfType(CacheManager.class));
    CachesEndpoint.CacheManagerDescriptor ours =
        endpoint.caches().getCacheManagers().get("cacheAsideCacheManager");

    assertThat(ours.getCaches()).containsKeys("products", "lists");
  }

  @Test
  void metrics_springConventions_besideCaffeine_inOnePrometheusScrape() {
    service.greeting("ada");
    service.greeting("ada");
    long id = newProduct("Metric", 1);
    service.product(id).block(TIMEOUT);
    service.product(id).block(TIMEOUT);

    String scrape = app.getBean(PrometheusMeterRegistry.class).scrape();

    assertThat(scrape).contains(
        "cache_gets_total{cache=\"greetings\",cache_manager=\"caffeine\",name=\"greetings\",result=\"hit\"}",
        "cache_gets_total{cache=\"products\",cache_manager=\"cacheAside\",name=\"products\",result=\"hit\"}",
        "cache_gets_total{cache=\"products\",cache_manager=\"cacheAside\",name=\"products\",result=\"miss\"}",
        "cache_load_time_seconds_count{cache=\"products\",cache_manager=\"cacheAside\",name=\"products\"}",
        "cache_lease_waits_total{cache=\"products\"",
        "# HELP cache_gets_total");
    assertThat(scrape).contains("cache_store_timeouts_total{store=\"cache-store\"}");
  }
}
