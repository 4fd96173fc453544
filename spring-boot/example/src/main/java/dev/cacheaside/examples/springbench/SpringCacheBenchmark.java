package dev.cacheaside.examples.springbench;

import dev.cacheaside.examples.boot.CatalogApplication;
import dev.cacheaside.examples.boot.Product;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;

/**
 * One endpoint ({@code GET /bench/<variant>/{id}}, a product from PostgreSQL), three ways, side by
 * side in one run: {@code @Cacheable} with the cache-aside starter, {@code @Cacheable} with Spring
 * Data Redis's {@code RedisCacheManager}, and {@code cacheAside} called directly. Four instances
 * of the application share one Redis and one database, in this JVM.
 *
 * <ul>
 *   <li>Stampede: {@value #STAMPEDE} concurrent requests for one cold id, spread over the four
 *       instances, the load taking {@code LOAD_DELAY} more than its query; database queries per
 *       stampede and the requests' p50/p99, over {@value #ROUNDS} rounds (new ids each).</li>
 *   <li>Throughput: {@value #REQUESTS} requests over {@value #KEYS} warm ids against one instance,
 *       {@value #CONCURRENCY} in flight; requests/s, median of {@value #ROUNDS} interleaved
 *       rounds.</li>
 * </ul>
 * Run with {@code mvn -B -q -Pboot-bench -DskipTests package}.
 */
public final class SpringCacheBenchmark {
  static final Duration LOAD_DELAY = Duration.ofMillis(50);
  /** A request not answered by then fails the run instead of hanging it. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  static final int STAMPEDE = 200;
  static final int REQUESTS = 5_000;
  static final int KEYS = 500;
  static final int CONCURRENCY = 64;
  static final int ROUNDS = 3;
  /** All three by default; {@code -Dbench.variants=starter,direct} to run some. */
  private static final List<String> VARIANTS =
      List.of(System.getProperty("bench.variants", "starter,spring,direct").split(","));

  private SpringCacheBenchmark() {}

  /** Runs the benchmark and prints a table. */
  public static void main(String[] args) {
    List<ConfigurableApplicationContext> instances = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        instances.add(CatalogApplication.start(new Class<?>[] {BenchConfiguration.class},
            "--server.port=0", "--spring.main.banner-mode=off", "--logging.level.root=WARN",
            // as in the runs README reports, made when a short limit still opened the breaker on
            // the shared machine's own saturation (the breaker now opens on evidence only)
            "--cache-aside.resilience.time-limit=1s"));
      }
      List<WebClient> clients = instances.stream().map(SpringCacheBenchmark::client).toList();
      List<BenchConfiguration.BenchService> services = instances.stream()
          .map(context -> context.getBean(BenchConfiguration.BenchService.class)).toList();

      // warm up the JVM on every path (class loading, JIT, scripts), unreported
      for (String variant : VARIANTS) {
        System.out.println("warming up " + variant);
        stampede(clients, variant, 900); // ids above KEYS: cold for the stampedes
        throughput(clients.get(0), variant, 2_000);
      }

      double[][] queries = new double[VARIANTS.size()][ROUNDS];
      double[][] p50 = new double[VARIANTS.size()][ROUNDS];
      double[][] p99 = new double[VARIANTS.size()][ROUNDS];
      double[][] rps = new double[VARIANTS.size()][ROUNDS];
      for (int round = 0; round < ROUNDS; round++) {
        System.out.println("round " + (round + 1) + " of " + ROUNDS);
        for (int v = 0; v < VARIANTS.size(); v++) {
          String variant = VARIANTS.get(v);
          long before = loads(services, variant);
          long[] latencies = stampede(clients, variant, 901 + round);
          queries[v][round] = loads(services, variant) - before;
          Arrays.sort(latencies);
          p50[v][round] = latencies[latencies.length / 2] / 1e6;
          p99[v][round] = latencies[(int) (latencies.length * 0.99)] / 1e6;
        }
        for (int v = 0; v < VARIANTS.size(); v++) {
          System.out.println("  throughput " + VARIANTS.get(v));
          rps[v][round] = throughput(clients.get(0), VARIANTS.get(v), REQUESTS);
        }
      }

      System.out.printf(Locale.ROOT, "%-44s %12s %22s %18s%n", "variant", "requests/s",
          "DB queries / stampede", "stampede p50/p99");
      for (int v = 0; v < VARIANTS.size(); v++) {
        String name = switch (VARIANTS.get(v)) {
          case "starter" -> "@Cacheable, cache-aside starter";
          case "spring" -> "@Cacheable, Spring Data RedisCacheManager";
          default -> "cacheAside called directly";
        };
        System.out.printf(Locale.ROOT, "%-44s %12.0f %22.1f %9.1f / %5.1f ms%n", name,
            median(rps[v]), median(queries[v]), median(p50[v]), median(p99[v]));
      }
      System.out.printf(Locale.ROOT, "(%d requests per stampede over 4 instances, load %d ms + query;"
          + " throughput %d requests, %d keys, %d in flight; medians of %d rounds)%n", STAMPEDE,
          LOAD_DELAY.toMillis(), REQUESTS, KEYS, CONCURRENCY, ROUNDS);
    } catch (RuntimeException e) {
      // a request that was never answered: say what every cache and thread was doing
      instances.forEach(SpringCacheBenchmark::diagnose);
      Thread.getAllStackTraces().forEach((thread, stack) -> {
        System.err.println("\"" + thread.getName() + "\" " + thread.getState());
        for (StackTraceElement frame : stack) {
          System.err.println("\tat " + frame);
        }
      });
      throw e;
    } finally {
      instances.forEach(ConfigurableApplicationContext::close);
    }
    System.exit(0);
  }

  private static void diagnose(ConfigurableApplicationContext context) {
    context.getBean(dev.cacheaside.spring.boot.CacheAsideCacheManager.class).getCacheNames()
        .forEach(name -> System.err.println(name + ": " + ((dev.cacheaside.spring.boot
            .CacheAsideSpringCache) context.getBean(dev.cacheaside.spring.boot
            .CacheAsideCacheManager.class).getCache(name)).stats()));
    context.getBeanProvider(dev.cacheaside.resilience.ResilientCacheStore.class).ifAvailable(
        store -> System.err.println("store: " + store.stats() + " breaker "
            + store.circuitBreaker().getState()));
  }

  private static WebClient client(ConfigurableApplicationContext context) {
    return WebClient.create("http://127.0.0.1:"
        + ((WebServerApplicationContext) context).getWebServer().getPort());
  }

  private static long loads(List<BenchConfiguration.BenchService> services, String variant) {
    return services.stream().mapToLong(s -> s.loads(variant)).sum();
  }

  /** {@link #STAMPEDE} concurrent requests for one cold id over every instance; their latencies. */
  private static long[] stampede(List<WebClient> clients, String variant, long id) {
    return Flux.range(0, STAMPEDE)
        .flatMap(i -> {
          long start = System.nanoTime();
          return clients.get(i % clients.size()).get().uri("/bench/" + variant + "/" + id)
              .retrieve().bodyToMono(Product.class)
              .timeout(REQUEST_TIMEOUT)
              .map(p -> System.nanoTime() - start);
        }, STAMPEDE)
        .collectList().block(Duration.ofMinutes(1))
        .stream().mapToLong(Long::longValue).toArray();
  }

  /** Requests per second over warm ids (the first pass over the ids fills the cache). */
  private static double throughput(WebClient client, String variant, int requests) {
    Flux.range(1, KEYS).flatMap(id -> client.get().uri("/bench/" + variant + "/" + id).retrieve()
        .bodyToMono(Product.class).timeout(REQUEST_TIMEOUT), CONCURRENCY)
        .blockLast(Duration.ofMinutes(1));
    long start = System.nanoTime();
    Flux.range(0, requests)
        .flatMap(i -> client.get().uri("/bench/" + variant + "/" + (1 + i % KEYS)).retrieve()
            .bodyToMono(Product.class).timeout(REQUEST_TIMEOUT), CONCURRENCY)
        .blockLast(Duration.ofMinutes(5));
    return requests / ((System.nanoTime() - start) / 1e9);
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
