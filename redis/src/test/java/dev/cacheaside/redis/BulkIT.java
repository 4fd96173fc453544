package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkOrder;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.testkit.CountingStore;
import dev.cacheaside.core.testkit.Database;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestSchema;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Issue 4 where only a real Redis can show it, standalone and cluster: {@code cacheAsideAll}
 * costs one multi-get per window and one load per chunk of misses (counted by a store decorator
 * and by Redis's own {@code INFO commandstats}, loading from a real PostgreSQL), a window spread
 * over every master, and never blocks a non-blocking thread. The bulk behaviour every store shares
 * (duplicates and negatives, joins with single-key reads both ways, two instances, request order,
 * cancel, a failed chunk) runs in {@link RedisScenariosIT}.
 */
class BulkIT {
  private final List<RedisFixture> fixtures = new ArrayList<>();

  @AfterEach
  void close() {
    fixtures.forEach(RedisFixture::close);
  }

  private RedisFixture open(Topology topology) {
    RedisFixture fixture = topology.open();
    fixtures.add(fixture);
    return fixture;
  }

  private static CacheAsideBuilder<Integer, String> cache(CacheStore store) {
    return CacheAside.<Integer, String>builder("bulk").store(store).codec(Codec.utf8());
  }

  private static List<BulkResult<Integer, String>> all(Flux<BulkResult<Integer, String>> flux) {
    return flux.collectList().block(Duration.ofSeconds(60));
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void tenThousandIds_nineThousandCached_oneMultiGetPerWindow_postgresLoadedPerChunk(
      Topology topology) {
    RedisFixture redis = open(topology);
    try (TestSchema schema = TestPostgres.get().newSchema()) {
      ConnectionFactory db = schema.connectionFactory();
      execute(db, "CREATE TABLE product (id int PRIMARY KEY, name text NOT NULL)");
      execute(db, "INSERT INTO product SELECT g, 'product ' || g FROM generate_series(0, 9999) g");
      AtomicInteger queries = new AtomicInteger();
      List<Integer> chunkSizes = new CopyOnWriteArrayList<>();
      BulkLoader<Integer, String> byIds = BulkLoader.fromFlux(ids -> {
        queries.incrementAndGet();
        chunkSizes.add(ids.size());
        return selectByIds(db, ids);
      }, row -> Integer.valueOf(row.substring("product ".length())));
      int window = 500;
      int chunk = 100;
      all(cache(redis.store).build().cacheAsideAll(Flux.range(0, 9_000), byIds));
      queries.set(0);
      chunkSizes.clear();
      redis.resetStats();

      CountingStore counting = new CountingStore(redis.store);
      // One read of the generation and of Redis's clock for the whole run: the refresh interval
      // outlasts it.
      CacheAside<Integer, String> products = cache(counting).generationRefresh(Duration.ofHours(1))
          .bulkWindow(window, Duration.ofSeconds(1)).bulkMaxLoadChunk(chunk).build();
      List<BulkResult<Integer, String>> results =
          all(products.cacheAsideAll(Flux.range(0, 10_000), byIds));

      assertThat(counting.getAlls).as("multi-gets: ceil(10,000 / %d)", window).hasValue(20);
      if (topology == Topology.STANDALONE) {
        assertThat(redis.calls("mget")).as("MGETs Redis saw").isEqualTo(20L);
        assertThat(redis.calls("evalsha"))
            .as("scripts: one getOrLeaseAll per window with misses, one setAllIfLeased per chunk,"
                + " one generation read, one clock read")
            .isEqualTo(2L + 10L + 2L);
      } else {
        assertThat(redis.calls("mget")).as("split by slot").isGreaterThanOrEqualTo(20);
      }
      assertThat(queries).as("PostgreSQL queries: ceil(1,000 / %d)", chunk).hasValue(10);
      assertThat(chunkSizes).containsOnly(chunk);
      assertThat(results).hasSize(10_000);
      assertThat(results.stream().map(BulkResult::key).collect(Collectors.toSet()))
          .as("every id answered exactly once").hasSize(10_000);
      assertThat(results)
          .allSatisfy(r -> assertThat(r.value()).isEqualTo("product " + r.key()));
      assertThat(products.stats().hits()).isEqualTo(9_000);
      assertThat(products.stats().misses()).isEqualTo(1_000);
      assertThat(products.stats().readsInFlight()).isZero();
      assertThat(leases(redis)).as("every lease used").isEmpty();
    }
  }

  /**
   * The whole bulk path (hits, misses, negatives, duplicates, joins with single-key reads,
   * invalidations, failed chunks, both orders, cancels) on Reactor's parallel threads and
   * Lettuce's event loops, with BlockHound installed in this JVM: a blocking call anywhere would
   * fail a stream.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void wholeBulkPath_onNonBlockingThreads_neverBlocks(Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).ttl(Duration.ofMillis(200))
        .staleGrace(Duration.ofSeconds(5)).bulkWindow(32, Duration.ofMillis(2))
        .bulkMaxLoadChunk(8).build();
    AtomicInteger loads = new AtomicInteger();
    BulkLoader<Integer, String> loader = keys -> {
      loads.incrementAndGet();
      return keys.contains(13) ? Mono.error(new IllegalStateException("db"))
          : Mono.delay(Duration.ofMillis(1)).then(new Database(150).load(keys));
    };
    Flux<?> work = Flux.range(0, 240)
        .flatMap(i -> {
          Flux<?> op = switch (i % 6) {
            case 0 -> cache.cacheAsideAll(Flux.range(i % 100, 64), loader);
            case 1 -> cache.cacheAsideAll(Flux.range(i % 100, 80).map(k -> k % 40), loader,
                BulkOrder.REQUEST);
            case 2 -> cache.cacheAsideAll(Flux.range(100, 100)
                .delayElements(Duration.ofMillis(1)), loader).take(30);
            case 3 -> cache.cacheAside(i % 100, k -> Mono.just("v" + k))
                .onErrorResume(e -> "db".equals(e.getMessage()), e -> Mono.empty()).flux();
            case 4 -> cache.invalidateAll(List.of(i % 100, (i + 1) % 100)).flux();
            default -> cache.writeThenInvalidate(i % 100, Mono.just("w")).flux();
          };
          return op.subscribeOn(Schedulers.parallel());
        }, 24);
    StepVerifier.create(work.then()).verifyComplete();
    assertThat(loads.get()).isPositive();
    RedisFixture.poll("in-flight map empty", Duration.ofSeconds(10),
        () -> Mono.just(cache.stats().readsInFlight() == 0));
  }

  @ParameterizedTest
  @EnumSource(value = Topology.class, names = "CLUSTER")
  void cluster_oneWindowSpreadOverEveryMaster_storedWhereItsSlotLives(Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).build();
    Database rows = new Database(1_000);
    all(cache.cacheAsideAll(Flux.range(0, 300), rows));
    assertThat(rows.calls).as("one window, one load, whatever the slots").hasSize(1);
    Set<String> nodes = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      String key = RedisCacheStore.valueKey(cache.storeKey(i).block());
      assertThat(redis.serverOf(key).exists(key)).as(key).isEqualTo(1L);
      nodes.add(redis.masterOf(key).getNodeId());
    }
    assertThat(nodes).as("keys on every master").hasSize(3);
    List<BulkResult<Integer, String>> again = all(cache.cacheAsideAll(Flux.range(0, 300), rows));
    assertThat(again).allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    assertThat(rows.calls).hasSize(1);
  }

  private static Set<String> leases(RedisFixture redis) {
    Set<String> leases = new HashSet<>();
    redis.servers().forEach(server -> ScanIterator.scan(server, ScanArgs.Builder.matches("ca:*:l"))
        .forEachRemaining(leases::add));
    return leases;
  }

  private static Flux<String> selectByIds(ConnectionFactory db, Set<Integer> ids) {
    return Flux.usingWhen(db.create(),
        c -> Flux.from(c.createStatement("SELECT name FROM product WHERE id = ANY($1)")
                .bind("$1", ids.toArray(new Integer[0])).execute())
            .flatMap(result -> result.map((row, meta) -> row.get(0, String.class))),
        Connection::close);
  }

  private static void execute(ConnectionFactory db, String sql) {
    Mono.usingWhen(db.create(),
            c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> r.getRowsUpdated()).then(),
            Connection::close)
        .block(Duration.ofSeconds(60));
  }
}
