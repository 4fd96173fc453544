package dev.cacheaside.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The Spring Boot example over HTTP ({@link WebTestClient}), on real Redis and PostgreSQL: the
 * stampede across four instances, the transaction race, a Redis kill, metrics beside Caffeine.
 * One instance for the class; the stampede starts three more.
 */
@ExtendWith(RedisExtension.class)
class CatalogApplicationIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static ConfigurableApplicationContext app;
  private static WebTestClient http;

  /** Holds an update's transaction open after its UPDATE when armed. */
  static final AtomicReference<@Nullable CountDownLatch[]> HOLD = new AtomicReference<>();

  @TestConfiguration(proxyBeanMethods = false)
  static class Hooks {
    @Bean
    @Primary
    WriteHook latchHook() {
      return id -> {
        CountDownLatch[] latches = HOLD.getAndSet(null);
        if (latches == null) {
          return Mono.empty();
        }
        return Mono.<Void>fromRunnable(() -> {
          latches[0].countDown();
          Latches.await(latches[1], "the test's read between the UPDATE and the commit");
        }).subscribeOn(Schedulers.boundedElastic());
      };
    }
  }

  private static String baseUrl(ConfigurableApplicationContext context) {
    return "http://127.0.0.1:" + ((WebServerApplicationContext) context).getWebServer().getPort();
  }

  private static ConfigurableApplicationContext instance() {
    return CatalogApplication.start(new Class<?>[] {Hooks.class}, "--server.port=0",
        "--catalog.load-delay=50ms", "--spring.main.banner-mode=off");
  }

  @BeforeAll
  static void start() {
    app = instance();
    http = WebTestClient.bindToServer().baseUrl(baseUrl(app)).responseTimeout(TIMEOUT).build();
  }

  /**
   * Instances are closed together at the end: closing one Boot web application disposes Reactor
   * Netty's global event loops, which the others share in one JVM.
   */
  private static final List<ConfigurableApplicationContext> OTHERS = new ArrayList<>();

  @AfterAll
  static void stop() {
    OTHERS.forEach(ConfigurableApplicationContext::close);
    if (app != null) {
      app.close();
    }
  }

  private static ProductService service(ConfigurableApplicationContext context) {
    return context.getBean(ProductService.class);
  }

  @Test
  void get_put_notFound() {
    http.get().uri("/products/1").exchange().expectStatus().isOk()
        .expectBody(Product.class).isEqualTo(new Product(1, "Product 1", 107));
    http.get().uri("/products/999999").exchange().expectStatus().isNotFound();
    http.get().uri("/products/999999").exchange().expectStatus().isNotFound();
    assertThat(service(app).queries(999_999)).as("'not found' is cached").isEqualTo(1);

    http.put().uri("/products/2").contentType(MediaType.APPLICATION_JSON)
        .bodyValue(new ProductUpdate("Blue Kettle", 2599)).exchange().expectStatus().isOk();
    http.get().uri("/products/2").exchange().expectBody(Product.class)
        .isEqualTo(new Product(2, "Blue Kettle", 2599));
    http.get().uri("/products?cheaperThan=120").exchange().expectStatus().isOk()
        .expectBodyList(Product.class).hasSize(4);
  }

  @Test
  void stampede_onACacheableEndpoint_fourInstancesSharingOneRedis_oneQuery() {
    List<ConfigurableApplicationContext> instances = new ArrayList<>(List.of(app));
    for (int i = 0; i < 3; i++) {
      ConfigurableApplicationContext other = instance();
      OTHERS.add(other);
      instances.add(other);
    }
    {
      List<WebClient> clients = instances.stream()
          .map(context -> WebClient.create(baseUrl(context))).toList();
      long id = 500;

      List<Product> answers = Flux.range(0, 200)
          .flatMap(i -> clients.get(i % clients.size()).get().uri("/products/" + id)
              .retrieve().bodyToMono(Product.class), 200)
          .collectList().block(TIMEOUT);

      assertThat(answers).hasSize(200).containsOnly(answers.get(0));
      long queries = instances.stream().mapToLong(context -> service(context).queries(id)).sum();
      assertThat(queries).as("database queries for 200 requests over 4 instances").isEqualTo(1);
    }
  }

  @Test
  void transaction_readBetweenUpdateAndCommit_noOldRowAfterCommit() {
    long id = 7;
    Product before = http.get().uri("/products/" + id).exchange().expectStatus().isOk()
        .returnResult(Product.class).getResponseBody().blockFirst(TIMEOUT);
    CountDownLatch inTransaction = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);
    HOLD.set(new CountDownLatch[] {inTransaction, readDone});

    var update = WebClient.create(baseUrl(app)).put().uri("/products/" + id)
        .contentType(MediaType.APPLICATION_JSON).bodyValue(new ProductUpdate("Renamed", 999))
        .retrieve().bodyToMono(Product.class).toFuture();
    Latches.await(inTransaction, "the update's UPDATE, inside its transaction");
    Product between = http.get().uri("/products/" + id).exchange()
        .returnResult(Product.class).getResponseBody().blockFirst(TIMEOUT);
    readDone.countDown();

    assertThat(update.join()).isEqualTo(new Product(id, "Renamed", 999));
    assertThat(between).as("a read before the commit sees the committed row").isEqualTo(before);
    for (int i = 0; i < 3; i++) {
      http.get().uri("/products/" + id).exchange().expectBody(Product.class)
          .isEqualTo(new Product(id, "Renamed", 999));
    }
  }

  @Test
  void redisKilled_noFailedRequest_healthDegradedThenUp(TestRedis redis) {
    WebClient client = WebClient.create(baseUrl(app));
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger served = new AtomicInteger();
    Runnable burst = () -> Flux.range(1, 100)
        .flatMap(i -> client.get().uri("/products/" + (100 + i % 40)).retrieve()
            .bodyToMono(Product.class)
            .doOnNext(p -> served.incrementAndGet())
            .onErrorResume(e -> {
              failed.incrementAndGet();
              return Mono.empty();
            }), 8)
        .blockLast(TIMEOUT);

    burst.run();
    assertThat(cacheAsideHealth()).isEqualTo("UP");
    redis.stop();
    burst.run();
    Map<String, Object> health = health();
    assertThat(health.get("status")).as("the application stays UP").isEqualTo("UP");
    assertThat(cacheAsideHealth()).isEqualTo("DEGRADED");
    burst.run();

    redis.start();
    Awaitility.await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
      burst.run();
      return "UP".equals(cacheAsideHealth());
    });
    burst.run();

    assertThat(failed).as("failed requests").hasValue(0);
    assertThat(served.get()).isGreaterThanOrEqualTo(500);
  }

  private static Map<String, Object> health() {
    return http.get().uri("/actuator/health").exchange().expectStatus().isOk()
        .expectBody(new ParameterizedTypeReference<Map<String, Object>>() {})
        .returnResult().getResponseBody();
  }

  @SuppressWarnings("unchecked")
  private static String cacheAsideHealth() {
    Map<String, Object> components = (Map<String, Object>) health().get("components");
    return (String) ((Map<String, Object>) components.get("cacheAside")).get("status");
  }

  @Test
  void metrics_cacheAsideAndCaffeine_sideBySide_inOnePrometheusScrape() {
    http.get().uri("/rates/USD").exchange().expectStatus().isOk();
    http.get().uri("/rates/USD").exchange().expectStatus().isOk();
    http.get().uri("/products/3").exchange().expectStatus().isOk();
    http.get().uri("/products/3").exchange().expectStatus().isOk();

    String scrape = http.get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
        .expectBody(String.class).returnResult().getResponseBody();

    assertThat(scrape).contains(
        "cache_gets_total{cache=\"rates\",cache_manager=\"caffeine\",name=\"rates\",result=\"hit\"}",
        "cache_gets_total{cache=\"products\",cache_manager=\"cacheAside\",name=\"products\",result=\"hit\"}",
        "cache_load_time_seconds_count{cache=\"products\",cache_manager=\"cacheAside\",name=\"products\"}",
        "cache_store_timeouts_total{store=\"cache-store\"}");
    http.get().uri("/actuator/caches").exchange().expectStatus().isOk().expectBody()
        .jsonPath("$.cacheManagers.cacheAsideCacheManager.caches.products").exists()
        .jsonPath("$.cacheManagers.caffeineCacheManager.caches.rates").exists();
  }
}
