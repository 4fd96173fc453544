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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Issue 4 on a real Redis, standalone and cluster: {@code cacheAsideAll} costs one multi-get per
 * window and one load per chunk of misses (counted by a store decorator and by Redis's own
 * {@code INFO commandstats}), answers every id once, joins single-key reads both ways, keeps
 * request order on request, leaves nothing behind when cancelled, fails only a failed chunk's
 * keys, and never blocks a non-blocking thread.
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
      CacheAside<Integer, String> products = cache(counting)
          .bulkWindow(window, Duration.ofSeconds(1)).bulkMaxLoadChunk(chunk).build();
      List<BulkResult<Integer, String>> results =
          all(products.cacheAsideAll(Flux.range(0, 10_000), byIds));

      assertThat(counting.getAlls).as("multi-gets: ceil(10,000 / %d)", window).hasValue(20);
      if (topology == Topology.STANDALONE) {
        assertThat(redis.calls("mget")).as("MGETs Redis saw").isEqualTo(20L);
        assertThat(redis.calls("evalsha"))
            .as("scripts: one getOrLeaseAll per window with misses, one setAllIfLeased per chunk")
            .isEqualTo(2L + 10L);
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

  @ParameterizedTest
  @EnumSource(Topology.class)
  void duplicatesAndAbsentIds_answeredAsRequested_negativesStored_noSecondLoad(
      Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).build();
    Database rows = new Database(100);
    List<Integer> keys = List.of(1, 500, 1, 2, 501, 2, 1);

    List<BulkResult<Integer, String>> first =
        all(cache.cacheAsideAll(Flux.fromIterable(keys), rows, BulkOrder.REQUEST));
    List<BulkResult<Integer, String>> second =
        all(cache.cacheAsideAll(Flux.fromIterable(keys), rows, BulkOrder.REQUEST));

    assertThat(first).extracting(BulkResult::key).containsExactlyElementsOf(keys);
    assertThat(first).extracting(BulkResult::value)
        .containsExactly("v1", null, "v1", "v2", null, "v2", "v1");
    assertThat(second).isEqualTo(first);
    assertThat(rows.calls).as("one load of the distinct keys, none the second time")
        .containsExactly(Set.of(1, 2, 500, 501));
    assertThat(redis.serverOf(RedisCacheStore.valueKey("bulk:500"))
        .exists(RedisCacheStore.valueKey("bulk:500"))).as("negative entry stored").isEqualTo(1L);
    assertThat(cache.stats().negativeHits()).isEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void keyInFlightViaCacheAside_atTheSameMoment_oneLoad_bothWays(Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).build();
    // A single-key load in flight; the bulk read joins it.
    AtomicInteger singleLoads = new AtomicInteger();
    Sinks.One<String> single = Sinks.one();
    StepVerifier singleRead = StepVerifier.create(cache.cacheAside(7, k -> {
      singleLoads.incrementAndGet();
      return single.asMono();
    })).expectNext("single-7").expectComplete().verifyLater();
    RedisFixture.poll("single-key lease taken", Duration.ofSeconds(10),
        () -> Mono.just(singleLoads.get() == 1));
    Database rows = new Database(100);
    Sinks.Empty<Void> bulkGate = Sinks.empty();
    rows.gate = bulkGate.asMono();
    StepVerifier bulk = StepVerifier.create(
            cache.cacheAsideAll(Flux.just(6, 7, 8), rows, BulkOrder.REQUEST)
                .map(BulkResult::value).collectList())
        .assertNext(values -> assertThat(values).containsExactly("v6", "single-7", "v8"))
        .expectComplete().verifyLater();
    RedisFixture.poll("bulk load started", Duration.ofSeconds(10),
        () -> Mono.just(rows.calls.size() == 1));
    assertThat(rows.calls).as("the bulk loader is not asked for the key in flight")
        .containsExactly(Set.of(6, 8));

    // A bulk load in flight; a single-key read of one of its keys joins it.
    AtomicInteger joinerLoads = new AtomicInteger();
    StepVerifier joiner = StepVerifier.create(cache.cacheAside(8, k -> {
      joinerLoads.incrementAndGet();
      return Mono.just("own");
    })).expectNext("v8").expectComplete().verifyLater();

    single.tryEmitValue("single-7");
    bulkGate.tryEmitEmpty();
    bulk.verify(Duration.ofSeconds(10));
    singleRead.verify(Duration.ofSeconds(10));
    joiner.verify(Duration.ofSeconds(10));
    assertThat(singleLoads).hasValue(1);
    assertThat(joinerLoads).as("joined the bulk load").hasValue(0);
    assertThat(cache.stats().readsInFlight()).isZero();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void twoInstances_bulkReadTheSameKeys_oneLoadPerKeyAcrossThem(Topology topology) {
    RedisFixture redis = open(topology);
    RedisFixture other = open(topology);
    CacheAside<Integer, String> a = cache(redis.store).leaseWait(Duration.ofSeconds(30)).build();
    CacheAside<Integer, String> b = cache(other.store).leaseWait(Duration.ofSeconds(30)).build();
    Map<Integer, AtomicInteger> loadsPerKey = new ConcurrentHashMap<>();
    BulkLoader<Integer, String> loader = keys -> {
      keys.forEach(k -> loadsPerKey.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet());
      return Mono.delay(Duration.ofMillis(50)).thenReturn(keys.stream()
          .collect(Collectors.toMap(k -> k, k -> "v" + k)));
    };
    List<BulkResult<Integer, String>> results = Flux.merge(
            a.cacheAsideAll(Flux.range(0, 300), loader).subscribeOn(Schedulers.parallel()),
            b.cacheAsideAll(Flux.range(100, 300), loader).subscribeOn(Schedulers.parallel()))
        .collectList().block(Duration.ofSeconds(60));
    assertThat(results).hasSize(600)
        .allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    assertThat(loadsPerKey).hasSize(400);
    assertThat(loadsPerKey.values()).allSatisfy(n -> assertThat(n).hasValue(1));
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void requestOrder_acrossWindows_whileChunksCompleteOutOfOrder(Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).bulkWindow(4, Duration.ofSeconds(1))
        .bulkMaxLoadChunk(2).bulkConcurrency(8).build();
    all(cache.cacheAsideAll(Flux.just(3, 10), new Database(100)));
    // Chunks with larger keys answer sooner.
    BulkLoader<Integer, String> loader = keys -> {
      int max = keys.stream().mapToInt(Integer::intValue).max().orElseThrow();
      return Mono.delay(Duration.ofMillis(Math.max(1, 200 - 10L * max)))
          .then(new Database(15).load(keys));
    };
    List<Integer> keys = List.of(1, 2, 3, 4, 18, 5, 10, 6, 7, 2, 8, 9, 11, 12, 13, 3, 14);
    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.fromIterable(keys), loader, BulkOrder.REQUEST));
    assertThat(results).extracting(BulkResult::key).containsExactlyElementsOf(keys);
    assertThat(results).allSatisfy(r -> assertThat(r.value())
        .isEqualTo(r.key() < 15 ? "v" + r.key() : null));
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void cancelMidStream_startedWindowsFinish_inflightMapEmpty_noLeaseLeft(Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).bulkWindow(20, Duration.ofSeconds(1))
        .bulkConcurrency(3).build();
    Database rows = new Database(Integer.MAX_VALUE);
    Sinks.Empty<Void> gate = Sinks.empty();
    rows.gate = gate.asMono();
    AtomicLong pulled = new AtomicLong();
    Flux<Integer> endless = Flux.<Integer, Integer>generate(() -> 0, (i, sink) -> {
      sink.next(i);
      return i + 1;
    }).doOnNext(i -> pulled.incrementAndGet());

    Disposable subscription = cache.cacheAsideAll(endless, rows).subscribe();
    RedisFixture.poll("three windows loading", Duration.ofSeconds(10),
        () -> Mono.just(rows.calls.size() == 3));
    assertThat(cache.stats().readsInFlight()).isEqualTo(60);
    subscription.dispose();
    long pulledAtCancel = pulled.get();
    gate.tryEmitEmpty();

    RedisFixture.poll("in-flight map empty", Duration.ofSeconds(10),
        () -> Mono.just(cache.stats().readsInFlight() == 0));
    assertThat(pulled.get()).as("nothing pulled after the cancel").isEqualTo(pulledAtCancel);
    assertThat(pulledAtCancel).as("keys pulled ahead are bounded").isLessThanOrEqualTo(200);
    assertThat(rows.calls).as("no window started after the cancel").hasSize(3);
    assertThat(leases(redis)).as("no lease left behind").isEmpty();
    StepVerifier.create(cache.cacheAside(59, k -> Mono.just("reloaded")))
        .as("the started windows stored their loads").expectNext("v59").verifyComplete();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void errorInOneChunk_failsOnlyItsKeys_cachesNothingOfIt(Topology topology) {
    RedisFixture redis = open(topology);
    CacheAside<Integer, String> cache = cache(redis.store).bulkMaxLoadChunk(5).build();
    Database rows = new Database(100);
    BulkLoader<Integer, String> failingOn7 = keys -> keys.contains(7)
        ? Mono.error(new IllegalStateException("db timeout"))
        : rows.load(keys);

    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.range(0, 20), failingOn7, BulkOrder.REQUEST));

    assertThat(results).filteredOn(BulkResult::isFailed).extracting(BulkResult::key)
        .containsExactly(5, 6, 7, 8, 9);
    assertThat(results).filteredOn(r -> !r.isFailed())
        .allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    assertThat(results.get(7).error()).hasMessage("db timeout");
    assertThat(leases(redis)).as("the failed chunk's leases were released").isEmpty();
    assertThat(redis.serverOf(RedisCacheStore.valueKey("bulk:7"))
        .exists(RedisCacheStore.valueKey("bulk:7"))).as("nothing cached for it").isZero();

    rows.calls.clear();
    all(cache.cacheAsideAll(Flux.range(0, 20), rows));
    assertThat(rows.calls).containsExactly(Set.of(5, 6, 7, 8, 9));
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
      String key = RedisCacheStore.valueKey("bulk:" + i);
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
    redis.servers().forEach(server -> ScanIterator.scan(server, ScanArgs.Builder.matches("*:lease"))
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
