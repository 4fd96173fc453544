package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import dev.cacheaside.core.testkit.FaultyStore;
import dev.cacheaside.core.testkit.CountingStore;
import dev.cacheaside.core.testkit.Database;

/**
 * {@link CacheAside#cacheAsideAll} on the in-memory store, its store calls counted: round trips
 * per window, loads per chunk, duplicates, negatives, joining single-key reads both ways, order,
 * cancellation, failures and backpressure. The Redis module runs the figures on a real Redis.
 */
class CacheAsideAllTest {
  private final MutableClock clock = new MutableClock();
  private final InMemoryCacheStore memory = InMemoryCacheStore.builder().clock(clock).build();
  private final CountingStore store = new CountingStore(memory);

  private CacheAsideBuilder<Integer, String> builder() {
    return CacheAside.<Integer, String>builder("t").store(store).codec(Codec.utf8()).clock(clock);
  }

  /** Where {@code cache} keeps {@code id} in the store now. */
  private static String key(CacheAside<Integer, String> cache, int id) {
    return cache.storeKey(id).block(Duration.ofSeconds(10));
  }

  private static List<BulkResult<Integer, String>> all(Flux<BulkResult<Integer, String>> results) {
    return results.collectList().block(Duration.ofSeconds(10));
  }

  private static Map<Integer, String> values(List<BulkResult<Integer, String>> results) {
    Map<Integer, String> map = new HashMap<>();
    results.forEach(r -> map.put(r.key(), String.valueOf(r.value())));
    return map;
  }

  private void warm(int from, int to) {
    CacheAside<Integer, String> warmer = CacheAside.<Integer, String>builder("t").store(memory)
        .codec(Codec.utf8()).clock(clock).build();
    all(warmer.cacheAsideAll(Flux.range(from, to - from), new Database(Integer.MAX_VALUE)));
  }

  @Test
  void tenThousandIds_nineThousandCached_oneMultiGetPerWindow_oneLoadPerChunk() {
    warm(0, 9_000);
    CacheAside<Integer, String> cache = builder().bulkWindow(500, Duration.ofSeconds(1))
        .bulkMaxLoadChunk(100).build();
    Database db = new Database(Integer.MAX_VALUE);

    List<BulkResult<Integer, String>> results = all(cache.cacheAsideAll(Flux.range(0, 10_000), db));

    assertThat(store.getAlls).as("multi-gets: ceil(10,000 / 500)").hasValue(20);
    assertThat(store.getAllKeys).as("each key read once").hasValue(10_000);
    assertThat(db.calls).as("loader calls: ceil(1,000 / 100)").hasSize(10)
        .allSatisfy(keys -> assertThat(keys).hasSize(100));
    assertThat(db.loadedKeys()).isEqualTo(
        IntStream.range(9_000, 10_000).boxed().collect(Collectors.toSet()));
    assertThat(store.getOrLeaseAlls).as("one lease round trip per window with misses").hasValue(2);
    assertThat(store.setAllIfLeaseds).as("one batched store per chunk").hasValue(10);
    assertThat(store.gets).as("no single-key reads").hasValue(0);
    assertThat(store.generationReads).as("the generation counter, read once").hasValue(1);
    assertThat(results).hasSize(10_000);
    assertThat(results.stream().map(BulkResult::key).collect(Collectors.toSet()))
        .as("every id answered exactly once").hasSize(10_000);
    assertThat(results).allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    CacheStats stats = cache.stats();
    assertThat(stats.hits()).isEqualTo(9_000);
    assertThat(stats.misses()).isEqualTo(1_000);
    assertThat(stats.loads()).isEqualTo(1_000);
    assertThat(inflight(cache)).isZero();

    List<BulkResult<Integer, String>> again = all(cache.cacheAsideAll(Flux.range(0, 10_000), db));
    assertThat(db.calls).as("everything is cached now").hasSize(10);
    assertThat(values(again)).isEqualTo(values(results));
  }

  @ParameterizedTest
  @EnumSource(BulkOrder.class)
  void duplicates_answeredAsOftenAsRequested_loadedOnce(BulkOrder order) {
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(100);
    List<Integer> keys = List.of(1, 1, 2, 1, 300, 2, 300);

    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.fromIterable(keys), db, order));

    assertThat(db.calls).containsExactly(Set.of(1, 2, 300));
    assertThat(results).hasSize(keys.size());
    if (order == BulkOrder.REQUEST) {
      assertThat(results).extracting(BulkResult::key).containsExactlyElementsOf(keys);
    } else {
      assertThat(results).extracting(BulkResult::key).containsExactlyInAnyOrderElementsOf(keys);
    }
    assertThat(results).allSatisfy(r -> {
      assertThat(r.isFailed()).isFalse();
      assertThat(r.value()).isEqualTo(r.key() < 100 ? "v" + r.key() : null);
    });
    assertThat(cache.stats().requests()).as("each request counted").isEqualTo(keys.size());
  }

  @Test
  void absentIds_storedNegative_notLoadedAgain() {
    CacheAside<Integer, String> cache = builder().negativeTtl(Duration.ofSeconds(30)).build();
    Database db = new Database(5);

    List<BulkResult<Integer, String>> first = all(cache.cacheAsideAll(Flux.range(0, 10), db));
    assertThat(first).filteredOn(r -> r.key() >= 5)
        .allSatisfy(r -> assertThat(r.isPresent()).isFalse()).hasSize(5);
    List<BulkResult<Integer, String>> second = all(cache.cacheAsideAll(Flux.range(0, 10), db));

    assertThat(db.calls).as("no second load").hasSize(1);
    assertThat(values(second)).isEqualTo(values(first));
    assertThat(cache.stats().negativeHits()).isEqualTo(5);

    clock.advance(Duration.ofSeconds(31));
    all(cache.cacheAsideAll(Flux.range(0, 10), db));
    assertThat(db.calls).hasSize(2);
    assertThat(db.calls.get(1)).as("only the expired negatives").isEqualTo(Set.of(5, 6, 7, 8, 9));
  }

  @ParameterizedTest
  @EnumSource(BulkOrder.class)
  void stats_countEveryRequest_duplicatesIncluded(BulkOrder order) {
    // One window, so a key loaded by an earlier window cannot turn into a hit of a later one.
    CacheAside<Integer, String> cache = builder().bulkWindow(8, Duration.ofSeconds(1))
        .negativeTtl(Duration.ofSeconds(30)).build();
    warm(0, 2);
    Database db = new Database(5);
    // 0 and 1 cached (0 asked twice), 3 loaded (asked twice), 7 not found (asked three times).
    List<Integer> keys = List.of(0, 3, 0, 1, 7, 3, 7, 7);

    all(cache.cacheAsideAll(Flux.fromIterable(keys), db, order));
    CacheStats first = cache.stats();
    all(cache.cacheAsideAll(Flux.fromIterable(keys), db, order));
    CacheStats second = cache.stats().minus(first);

    assertThat(first.hits()).as("first: hits").isEqualTo(3);
    assertThat(first.misses()).as("first: 3 and 7, each as often as asked").isEqualTo(5);
    assertThat(first.negativeHits()).isZero();
    assertThat(second.hits()).as("second: 0, 1 and the stored 3").isEqualTo(5);
    assertThat(second.negativeHits()).as("second: the negative entry of 7").isEqualTo(3);
    assertThat(second.misses()).isZero();
  }

  @Test
  void keyInFlightViaCacheAside_bulkJoinsIt_oneLoad() {
    CacheAside<Integer, String> cache = builder().build();
    AtomicInteger singleLoads = new AtomicInteger();
    Sinks.One<String> gate = Sinks.one();
    StepVerifier single = StepVerifier.create(cache.cacheAside(7, k -> {
      singleLoads.incrementAndGet();
      return gate.asMono();
    })).expectNext("single-7").expectComplete().verifyLater();
    Database db = new Database(100);

    StepVerifier bulk = StepVerifier.create(
            cache.cacheAsideAll(Flux.just(5, 6, 7, 8), db, BulkOrder.REQUEST))
        .assertNext(r -> assertThat(r.value()).isEqualTo("v5"))
        .assertNext(r -> assertThat(r.value()).isEqualTo("v6"))
        .assertNext(r -> assertThat(r.value()).as("joined the single-key load").isEqualTo("single-7"))
        .assertNext(r -> assertThat(r.value()).isEqualTo("v8"))
        .expectComplete()
        .verifyLater();
    assertThat(db.calls).as("the bulk loader is not asked for the key in flight")
        .containsExactly(Set.of(5, 6, 8));
    gate.tryEmitValue("single-7");

    bulk.verify(Duration.ofSeconds(5));
    single.verify(Duration.ofSeconds(5));
    assertThat(singleLoads).hasValue(1);
    assertThat(cache.stats().coalesced()).isEqualTo(1);
    assertThat(inflight(cache)).isZero();
  }

  @Test
  void bulkLoadInFlight_concurrentCacheAsideJoinsIt_oneLoad() {
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(100);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    StepVerifier bulk = StepVerifier.create(cache.cacheAsideAll(Flux.just(1, 2, 3), db)
            .map(BulkResult::value).collectList())
        .assertNext(v -> assertThat(v).containsExactlyInAnyOrder("v1", "v2", "v3"))
        .expectComplete()
        .verifyLater();
    assertThat(db.calls).hasSize(1);
    assertThat(inflight(cache)).as("the bulk loads are in flight").isEqualTo(3);

    AtomicInteger singleLoads = new AtomicInteger();
    StepVerifier single = StepVerifier.create(cache.cacheAside(2, k -> {
      singleLoads.incrementAndGet();
      return Mono.just("single");
    })).expectNext("v2").expectComplete().verifyLater();
    gate.tryEmitEmpty();

    bulk.verify(Duration.ofSeconds(5));
    single.verify(Duration.ofSeconds(5));
    assertThat(singleLoads).as("joined the bulk load").hasValue(0);
    assertThat(db.calls).hasSize(1);
    assertThat(inflight(cache)).isZero();
  }

  @Test
  void bulkLoadInFlight_unsharedReads_cacheAsideStillJoinsIt() {
    CacheAside<Integer, String> cache = builder().shareReads(false).build();
    Database db = new Database(100);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    Disposable bulk = cache.cacheAsideAll(Flux.just(1), db).subscribe();
    AtomicInteger singleLoads = new AtomicInteger();
    StepVerifier single = StepVerifier.create(cache.cacheAside(1, k -> {
      singleLoads.incrementAndGet();
      return Mono.just("single");
    })).expectNext("v1").expectComplete().verifyLater();
    gate.tryEmitEmpty();
    single.verify(Duration.ofSeconds(5));
    assertThat(singleLoads).hasValue(0);
    bulk.dispose();
  }

  @Test
  void concurrentBulkStreams_overlappingKeys_eachKeyLoadedOnce() throws InterruptedException {
    CacheAside<Integer, String> cache = builder().bulkWindow(50, Duration.ofMillis(5))
        .bulkMaxLoadChunk(20).build();
    Map<Integer, AtomicInteger> loadsPerKey = new ConcurrentHashMap<>();
    Sinks.Empty<Void> gate = Sinks.empty();
    BulkLoader<Integer, String> loader = keys -> {
      keys.forEach(k -> loadsPerKey.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet());
      return gate.asMono().then(Mono.fromSupplier(() -> keys.stream()
          .collect(Collectors.toMap(k -> k, k -> "v" + k))));
    };
    int streams = 8;
    CountDownLatch subscribed = new CountDownLatch(streams);
    Mono<List<BulkResult<Integer, String>>> all = Flux.range(0, streams)
        .flatMap(s -> cache.cacheAsideAll(Flux.range(0, 400).map(i -> (i * 7 + s * 13) % 400),
                loader)
            .doOnSubscribe(x -> subscribed.countDown())
            .subscribeOn(Schedulers.parallel()), streams)
        .collectList();
    StepVerifier.create(all)
        .then(() -> {
          Latches.await(subscribed, "every stream to subscribe");
          gate.tryEmitEmpty();
        })
        .assertNext(results -> {
          assertThat(results).hasSize(streams * 400);
          assertThat(results).allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
        })
        .verifyComplete();
    assertThat(loadsPerKey).hasSize(400);
    assertThat(loadsPerKey.values()).allSatisfy(n -> assertThat(n).hasValue(1));
    assertThat(inflight(cache)).isZero();
  }

  @Test
  void requestOrder_acrossWindows_chunksCompletingOutOfOrder() {
    CacheAside<Integer, String> cache = builder().bulkWindow(3, Duration.ofSeconds(1))
        .bulkMaxLoadChunk(1).bulkConcurrency(4).build();
    warm(4, 5);
    // Later keys load sooner, so completion order differs from request order.
    BulkLoader<Integer, String> loader = keys -> {
      int key = keys.iterator().next();
      return Mono.delay(Duration.ofMillis(5L * (20 - key)))
          .thenReturn(key < 10 ? Map.of(key, "v" + key) : Map.of());
    };
    List<Integer> keys = List.of(9, 1, 4, 12, 1, 8, 3, 4, 7, 2);

    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.fromIterable(keys), loader, BulkOrder.REQUEST));

    assertThat(results).extracting(BulkResult::key).containsExactlyElementsOf(keys);
    assertThat(results).extracting(BulkResult::value).containsExactly(
        "v9", "v1", "v4", null, "v1", "v8", "v3", "v4", "v7", "v2");
  }

  @Test
  void completionOrder_hitsEmittedBeforeTheLoadCompletes() {
    warm(0, 2);
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(100);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    StepVerifier.create(cache.cacheAsideAll(Flux.just(0, 5, 1), db))
        .expectNextMatches(r -> r.key() == 0)
        .expectNextMatches(r -> r.key() == 1)
        .then(gate::tryEmitEmpty)
        .expectNextMatches(r -> r.key() == 5 && "v5".equals(r.value()))
        .verifyComplete();
  }

  @Test
  void cancelMidStream_startedWindowsFinish_nothingLeaks() {
    CacheAside<Integer, String> cache = builder().bulkWindow(10, Duration.ofSeconds(1))
        .bulkConcurrency(2).build();
    Database db = new Database(Integer.MAX_VALUE);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    AtomicLong pulled = new AtomicLong();
    Flux<Integer> endless = Flux.<Integer, Integer>generate(() -> 0, (i, sink) -> {
      sink.next(i);
      return i + 1;
    }).doOnNext(i -> pulled.incrementAndGet());

    Disposable subscription = cache.cacheAsideAll(endless, db).subscribe();
    assertThat(db.calls).as("two windows in flight, waiting for the database").hasSize(2);
    assertThat(inflight(cache)).isEqualTo(20);
    subscription.dispose();
    long pulledAtCancel = pulled.get();
    gate.tryEmitEmpty();

    assertThat(inflight(cache)).as("the started windows finished and left the map").isZero();
    assertThat(pulled.get()).as("no keys taken after the cancel").isEqualTo(pulledAtCancel);
    assertThat(pulledAtCancel).as("keys pulled ahead are bounded").isLessThanOrEqualTo(100);
    assertThat(db.calls).as("no window started after the cancel").hasSize(2);
    assertThat(memory.get(key(cache, 0)).block()).as("their loads were stored").isNotNull();
    assertThat(memory.get(key(cache, 19)).block()).isNotNull();
    StepVerifier.create(memory.getOrLease(key(cache, 25), Duration.ofSeconds(1)))
        .as("no lease left behind on keys never started")
        .assertNext(lookup -> assertThat(lookup).isInstanceOf(StoreLookup.Granted.class))
        .verifyComplete();
  }

  @Test
  void cancelWhileAJoinerWaits_joinerStillAnswered() {
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(100);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    Disposable bulk = cache.cacheAsideAll(Flux.just(1, 2), db).subscribe();
    StepVerifier single = StepVerifier.create(cache.cacheAside(2, k -> Mono.just("own")))
        .expectNext("v2").expectComplete().verifyLater();
    bulk.dispose();
    gate.tryEmitEmpty();
    single.verify(Duration.ofSeconds(5));
    assertThat(inflight(cache)).isZero();
  }

  @Test
  void unboundedKeySource_slowConsumer_pullsOnlyWhatIsConsumed() {
    warm(0, 1_000);
    CacheAside<Integer, String> cache = builder().bulkWindow(10, Duration.ofSeconds(1))
        .bulkConcurrency(2).build();
    AtomicLong pulled = new AtomicLong();
    Flux<Integer> endless = Flux.<Integer, Integer>generate(() -> 0, (i, sink) -> {
      sink.next(i % 1_000);
      return i + 1;
    }).doOnNext(i -> pulled.incrementAndGet());

    StepVerifier.create(cache.cacheAsideAll(endless, new Database(Integer.MAX_VALUE)), 0)
        .thenRequest(5)
        .expectNextCount(5)
        .then(() -> assertThat(pulled.get()).as("pulled for 5 results").isLessThanOrEqualTo(100))
        .thenRequest(500)
        .expectNextCount(500)
        .then(() -> assertThat(pulled.get()).as("pulled for 505 results")
            .isLessThanOrEqualTo(505 + 100))
        .thenCancel()
        .verify(Duration.ofSeconds(10));
  }

  @Test
  void oneChunkFails_onlyItsKeysFail_nothingOfItCached() {
    CacheAside<Integer, String> cache = builder().bulkMaxLoadChunk(2).build();
    Database db = new Database(100);
    BulkLoader<Integer, String> failingOn3 = keys -> keys.contains(3)
        ? Mono.error(new IllegalStateException("db down for " + keys))
        : db.load(keys);

    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.range(1, 6), failingOn3, BulkOrder.REQUEST));

    assertThat(results).extracting(BulkResult::key).containsExactly(1, 2, 3, 4, 5, 6);
    assertThat(results).filteredOn(BulkResult::isFailed).extracting(BulkResult::key)
        .containsExactly(3, 4);
    assertThat(results.get(2).error()).hasMessage("db down for [3, 4]");
    assertThat(results).filteredOn(r -> !r.isFailed())
        .allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    assertThat(cache.stats().loadFailures()).isEqualTo(2);
    assertThat(store.releases).as("the failed chunk's leases given back").hasValue(2);

    db.calls.clear();
    all(cache.cacheAsideAll(Flux.range(1, 6), db));
    assertThat(db.calls).as("only the failed keys load again").containsExactly(Set.of(3, 4));
    assertThat(inflight(cache)).isZero();
  }

  @Test
  void oneChunkFails_failOnLoadError_streamEndsWithTheError() {
    CacheAside<Integer, String> cache = builder().bulkMaxLoadChunk(2)
        .bulkFailOnLoadError(true).build();
    BulkLoader<Integer, String> failingOn3 = keys -> keys.contains(3)
        ? Mono.error(new IllegalStateException("db down"))
        : new Database(100).load(keys);
    StepVerifier.create(cache.cacheAsideAll(Flux.range(1, 6), failingOn3, BulkOrder.REQUEST))
        .expectNextCount(2)
        .expectErrorMessage("db down")
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void loaderThrowsOrReturnsNull_failsItsKeys() {
    CacheAside<Integer, String> cache = builder().build();
    List<BulkResult<Integer, String>> thrown = all(cache.cacheAsideAll(Flux.just(1, 2), keys -> {
      throw new IllegalArgumentException("bad query");
    }));
    assertThat(thrown).allSatisfy(r -> assertThat(r.error()).hasMessage("bad query"));
    List<BulkResult<Integer, String>> nulled = all(cache.cacheAsideAll(Flux.just(1), keys -> null));
    assertThat(nulled).singleElement()
        .satisfies(r -> assertThat(r.error()).hasMessageContaining("loader returned null"));
    assertThat(inflight(cache)).isZero();
  }

  @Test
  void storeDown_everyKeyAnsweredFromTheLoader_nothingStored() {
    FaultyStore faulty = new FaultyStore(memory);
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("t").store(faulty)
        .codec(Codec.utf8()).clock(clock).build();
    Database db = new Database(100);
    all(cache.cacheAsideAll(Flux.range(0, 5), db));
    db.calls.clear();
    faulty.mode = FaultyStore.Mode.DOWN;

    List<BulkResult<Integer, String>> results = all(cache.cacheAsideAll(Flux.range(0, 10), db));

    assertThat(values(results)).isEqualTo(IntStream.range(0, 10).boxed()
        .collect(Collectors.toMap(k -> k, k -> "v" + k)));
    assertThat(db.loadedKeys()).hasSize(10);
    assertThat(cache.stats().storeErrors()).as("getAll and getOrLeaseAll").isEqualTo(2);
    faulty.mode = FaultyStore.Mode.UP;
    assertThat(memory.get(key(cache, 7)).block()).as("no lease, nothing stored").isNull();
  }

  @Test
  void multiGetFails_windowBecomesMisses_stillOneLoadForTheRealMisses() {
    warm(0, 5);
    CacheAside<Integer, String> cache = builder().build();
    store.failGetAll = true;
    Database db = new Database(100);

    List<BulkResult<Integer, String>> results = all(cache.cacheAsideAll(Flux.range(0, 10), db));

    assertThat(results).allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    assertThat(db.calls).as("the lease lookup found the cached ones")
        .containsExactly(Set.of(5, 6, 7, 8, 9));
    assertThat(cache.stats().storeErrors()).isEqualTo(1);
  }

  @Test
  void leases_twoInstancesBulkTheSameKeys_oneLoadPerKeyAcrossThem() {
    InMemoryCacheStore shared = InMemoryCacheStore.create();
    Supplier<CacheAside<Integer, String>> instance = () ->
        CacheAside.<Integer, String>builder("t").store(shared).codec(Codec.utf8())
            .leaseWait(Duration.ofSeconds(30)).build();
    CacheAside<Integer, String> a = instance.get();
    CacheAside<Integer, String> b = instance.get();
    Map<Integer, AtomicInteger> loadsPerKey = new ConcurrentHashMap<>();
    Sinks.Empty<Void> gate = Sinks.empty();
    BulkLoader<Integer, String> loader = keys -> {
      keys.forEach(k -> loadsPerKey.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet());
      return gate.asMono().then(Mono.just(keys.stream()
          .collect(Collectors.toMap(k -> k, k -> "v" + k))));
    };
    StepVerifier first = StepVerifier.create(a.cacheAsideAll(Flux.range(0, 50), loader).count())
        .expectNext(50L).expectComplete().verifyLater();
    StepVerifier second = StepVerifier.create(b.cacheAsideAll(Flux.range(25, 50), loader)
            .map(BulkResult::value).collectList())
        .assertNext(v -> assertThat(v).hasSize(50).allSatisfy(s -> assertThat(s).startsWith("v")))
        .expectComplete().verifyLater();
    assertThat(b.stats().leaseWaits()).as("b waits for a's leases").isEqualTo(25);
    gate.tryEmitEmpty();

    first.verify(Duration.ofSeconds(10));
    second.verify(Duration.ofSeconds(10));
    assertThat(loadsPerKey).hasSize(75);
    assertThat(loadsPerKey.values()).allSatisfy(n -> assertThat(n).hasValue(1));
  }

  @Test
  void invalidateDuringBulkLoad_oldValueIsNotStored() {
    CacheAside<Integer, String> cache = builder().build();
    Map<Integer, String> rows = new ConcurrentHashMap<>(Map.of(1, "old", 2, "old"));
    Sinks.Empty<Void> gate = Sinks.empty();
    BulkLoader<Integer, String> reader = keys -> {
      Map<Integer, String> seen = new HashMap<>(rows);
      return gate.asMono().then(Mono.just(seen));
    };
    StepVerifier read = StepVerifier.create(cache.cacheAsideAll(Flux.just(1, 2), reader).count())
        .expectNext(2L).expectComplete().verifyLater();
    StepVerifier.create(cache.writeThenInvalidate(1, Mono.fromRunnable(() -> rows.put(1, "new"))))
        .verifyComplete();
    gate.tryEmitEmpty();
    read.verify(Duration.ofSeconds(5));

    assertThat(cache.stats().leasesLost()).isEqualTo(1);
    StepVerifier.create(cache.cacheAside(1, k -> Mono.just(rows.get(k)))).expectNext("new")
        .verifyComplete();
    StepVerifier.create(cache.cacheAside(2, k -> Mono.just("reloaded"))).expectNext("old")
        .as("the key not written was stored").verifyComplete();
  }

  @Test
  void staleWithinGrace_refreshedByTheLeaseWinner_staleServedWhenTheLoadFails() {
    CacheAside<Integer, String> cache = builder().ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofSeconds(30)).build();
    all(cache.cacheAsideAll(Flux.range(0, 4), new Database(100)));
    clock.advance(Duration.ofSeconds(11));
    // Another instance is refreshing key 0: this one serves it stale.
    String otherLease = memory.tryLease(key(cache, 0), Duration.ofSeconds(5)).block();
    assertThat(otherLease).isNotNull();

    BulkLoader<Integer, String> failing = keys -> Mono.error(new IllegalStateException("db"));
    List<BulkResult<Integer, String>> stale = all(cache.cacheAsideAll(Flux.range(0, 4), failing));
    assertThat(stale).allSatisfy(r -> assertThat(r.value()).isEqualTo("v" + r.key()));
    assertThat(cache.stats().staleHits()).isEqualTo(4);

    BulkLoader<Integer, String> fresh = keys -> Mono.just(keys.stream()
        .collect(Collectors.toMap(k -> k, k -> "w" + k)));
    List<BulkResult<Integer, String>> refreshed =
        all(cache.cacheAsideAll(Flux.range(0, 4), fresh, BulkOrder.REQUEST));
    assertThat(refreshed).extracting(BulkResult::value).containsExactly("v0", "w1", "w2", "w3");
  }

  @Test
  void leaseHeldElsewhere_waitBudgetSpent_loadsWithoutStoring() {
    // Virtual time: the polls happen at their backoff steps whatever the machine's load.
    reactor.test.scheduler.VirtualTimeScheduler time =
        reactor.test.scheduler.VirtualTimeScheduler.create();
    CacheAside<Integer, String> cache = builder().leaseWait(Duration.ofMillis(50)).scheduler(time)
        .build();
    memory.getOrLease(key(cache, 3), Duration.ofMinutes(1)).block();
    Database db = new Database(100);

    java.util.concurrent.atomic.AtomicReference<List<BulkResult<Integer, String>>> answered =
        new java.util.concurrent.atomic.AtomicReference<>();
    cache.cacheAsideAll(Flux.range(1, 3), db, BulkOrder.REQUEST).collectList()
        .subscribe(answered::set);
    time.advanceTimeBy(Duration.ofMillis(100));
    List<BulkResult<Integer, String>> results = answered.get();
    assertThat(results).as("answered once the wait budget was spent").isNotNull();

    assertThat(results).extracting(BulkResult::value).containsExactly("v1", "v2", "v3");
    assertThat(db.calls).containsExactly(Set.of(1, 2), Set.of(3));
    assertThat(cache.stats().leaseWaits()).isEqualTo(1);
    assertThat(store.getOrLeaseAlls.get()).as("polled while waiting").isGreaterThan(1);
    assertThat(memory.get(key(cache, 3)).block()).as("not stored without the lease").isNull();
  }

  @Test
  void leasesOff_loadsAndStoresWithOneSetAll() {
    CacheAside<Integer, String> cache = builder().leases(false).build();
    Database db = new Database(100);
    all(cache.cacheAsideAll(Flux.range(0, 10), db));
    assertThat(store.setAlls).hasValue(1);
    assertThat(store.getOrLeaseAlls).hasValue(0);
    assertThat(store.getAlls).as("the read and the re-read inside the flights").hasValue(2);
    all(cache.cacheAsideAll(Flux.range(0, 10), db));
    assertThat(db.calls).hasSize(1);
    assertThat(store.getAlls).as("hits: one round trip").hasValue(3);
  }

  @Test
  void corruptEntry_isDeletedAndLoaded() {
    CacheAside<Integer, String> cache = builder().build();
    // An envelope of this library's whose header is cut short: ours, and broken.
    memory.set(key(cache, 1), new byte[] {(byte) 0xCA, 2, 0, 0, 0, 0, 0, 1},
        Duration.ofMinutes(1)).block();
    Database db = new Database(100);
    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.range(0, 3), db, BulkOrder.REQUEST));
    assertThat(results).extracting(BulkResult::value).containsExactly("v0", "v1", "v2");
    assertThat(cache.stats().corruptEntries()).isEqualTo(1);
    StepVerifier.create(cache.cacheAside(1, k -> Mono.just("x"))).expectNext("v1")
        .verifyComplete();
  }

  @Test
  void codecCannotEncodeOneValue_onlyThatKeyFails() {
    Codec<String> picky = new Codec<>() {
      @Override
      public byte[] encode(String value) {
        if (value.equals("v2")) {
          throw new IllegalArgumentException("cannot encode v2");
        }
        return value.getBytes(StandardCharsets.UTF_8);
      }

      @Override
      public String decode(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
      }
    };
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("t").store(store)
        .codec(picky).clock(clock).build();
    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.range(1, 3), new Database(100), BulkOrder.REQUEST));
    assertThat(results.get(1).error()).isInstanceOf(CodecException.class)
        .hasMessageContaining("cannot encode v2");
    assertThat(results.get(0).value()).isEqualTo("v1");
    assertThat(results.get(2).value()).isEqualTo("v3");
    assertThat(store.releases).as("its lease given back").hasValue(1);
  }

  @Test
  void fromFlux_keyExtractor_mapsRowsToKeys() {
    CacheAside<Integer, String> cache = builder().build();
    BulkLoader<Integer, String> rows = BulkLoader.fromFlux(
        keys -> Flux.fromIterable(keys).filter(k -> k % 2 == 0).map(k -> k + ":row"),
        row -> Integer.valueOf(row.substring(0, row.indexOf(':'))));
    List<BulkResult<Integer, String>> results =
        all(cache.cacheAsideAll(Flux.range(0, 4), rows, BulkOrder.REQUEST));
    assertThat(results).extracting(BulkResult::value).containsExactly("0:row", null, "2:row", null);
  }

  @Test
  void fromFlux_twoRowsForOneKey_failsTheChunkClearly() {
    CacheAside<Integer, String> cache = builder().build();
    BulkLoader<Integer, String> joinBug = BulkLoader.fromFlux(
        keys -> Flux.just("1:a", "1:b"), row -> Integer.valueOf(row.substring(0, 1)));
    List<BulkResult<Integer, String>> results = all(cache.cacheAsideAll(Flux.just(1), joinBug));
    assertThat(results).singleElement().satisfies(r -> assertThat(r.error())
        .hasMessage("bulk loader returned two values for key 1: 1:a and 1:b"));
  }

  @Test
  void fromMap_acceptsAnyMapType_unaskedKeysIgnored() {
    CacheAside<Integer, String> cache = builder().build();
    BulkLoader<Integer, String> loader = BulkLoader.fromMap(keys -> {
      LinkedHashMap<Integer, String> map = new LinkedHashMap<>();
      keys.forEach(k -> map.put(k, "v" + k));
      map.put(999, "nobody asked");
      return Mono.just(map);
    });
    List<BulkResult<Integer, String>> results = all(cache.cacheAsideAll(Flux.just(1, 2), loader));
    assertThat(values(results)).isEqualTo(Map.of(1, "v1", 2, "v2"));
    assertThat(memory.get(key(cache, 999)).block()).isNull();
  }

  @Test
  void generationBump_bulkReadsTheNewGeneration() {
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(100);
    all(cache.cacheAsideAll(Flux.range(0, 3), db));
    cache.bumpGeneration().block();
    all(cache.cacheAsideAll(Flux.range(0, 3), db));
    assertThat(db.calls).hasSize(2);
  }

  @Test
  void lazy_emptyStream_andBadInput() {
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(100);
    Flux<BulkResult<Integer, String>> notYet = cache.cacheAsideAll(Flux.range(0, 3), db);
    assertThat(store.getAlls).as("nothing before subscription").hasValue(0);
    StepVerifier.create(notYet).expectNextCount(3).verifyComplete();
    StepVerifier.create(cache.cacheAsideAll(Flux.empty(), db)).verifyComplete();

    assertThatThrownBy(() -> cache.cacheAsideAll(null, db))
        .isInstanceOf(NullPointerException.class).hasMessage("keys must not be null");
    assertThatThrownBy(() -> cache.cacheAsideAll(Flux.just(1), null))
        .isInstanceOf(NullPointerException.class).hasMessage("loader must not be null");
    assertThatThrownBy(() -> cache.cacheAsideAll(Flux.just(1), db, null))
        .isInstanceOf(NullPointerException.class).hasMessage("order must not be null");

    CacheAside<Integer, String> emptyKeys = builder().keyFormat(k -> k == 2 ? "" : "t:" + k)
        .build();
    StepVerifier.create(emptyKeys.cacheAsideAll(Flux.just(1, 2, 3), db))
        .thenConsumeWhile(r -> r.key() < 2)
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("key format returned an empty string for key 2"))
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void builder_rejectsBadBulkOptions() {
    assertThatThrownBy(() -> builder().bulkWindow(0, Duration.ofMillis(1)))
        .hasMessage("bulkWindow maxKeys must be positive but was 0");
    assertThatThrownBy(() -> builder().bulkWindow(1, Duration.ZERO))
        .hasMessage("bulkWindow maxTime must be positive but was PT0S");
    assertThatThrownBy(() -> builder().bulkMaxLoadChunk(-1))
        .hasMessage("bulkMaxLoadChunk must be positive but was -1");
    assertThatThrownBy(() -> builder().bulkConcurrency(0))
        .hasMessage("bulkConcurrency must be positive but was 0");
    assertThatThrownBy(() -> new BulkResult<>(1, "v", new IllegalStateException()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static int inflight(CacheAside<?, ?> cache) {
    return (int) cache.stats().readsInFlight();
  }
}
