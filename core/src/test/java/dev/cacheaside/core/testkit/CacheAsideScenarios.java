package dev.cacheaside.core.testkit;

import static dev.cacheaside.core.testkit.CacheStoreContract.await;
import static dev.cacheaside.core.testkit.CacheStoreContract.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkOrder;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.MutableClock;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.SchedulerClock;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * What {@link CacheAside} promises, whatever store it runs on: the stampede (loader calls
 * counted, one JVM and several instances), negatives, loader errors never cached, corrupt entries,
 * leases (one load across instances, the stale-set race forced step by step), the basics of
 * {@code cacheAsideAll}, and early refresh. Defined once, run on core's in-memory store, on a
 * standalone Redis and on a Redis Cluster; a new store runs it by adding one class:
 *
 * <pre>{@code
 * class MemcachedScenariosIT extends CacheAsideScenarios {
 *   private final List<MemcachedCacheStore> stores = new ArrayList<>();
 *
 *   @Override
 *   protected CacheStore instanceStore(Clock clock) {
 *     MemcachedCacheStore store = MemcachedCacheStore.create(TestMemcached.get().client());
 *     stores.add(store);
 *     return store;
 *   }
 *
 *   @AfterEach
 *   void close() { stores.forEach(MemcachedCacheStore::close); }
 * }
 * }</pre>
 *
 * <p>Several {@code CacheAside} instances sharing one store stand for several application
 * instances sharing one cache server. Entries are stamped by a fake clock the tests move, so
 * "before expiry" does not depend on this machine's speed; the stores' own physical TTLs may
 * follow real time (they are long enough to outlast each test); a store with a clock of its own
 * must follow {@code clock} in {@link CacheStore#time} (wrap it with {@link ClockedStore}). A test
 * looks at its entries through the SPI, under the store keys the caches name
 * ({@code CacheAside.storeKey}).
 */
public abstract class CacheAsideScenarios {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int SUBSCRIBERS = 1_000;

  /** The clock of the caches of a test, unless the test runs in virtual time. */
  protected final MutableClock clock = new MutableClock(System.currentTimeMillis());
  /** Store operations in flight, over the stores of a test that wrap with {@link #quiet}. */
  private final AtomicInteger pending = new AtomicInteger();
  private @Nullable CacheStore look;

  /** For subclasses. */
  protected CacheAsideScenarios() {}

  /**
   * The store of one more application instance in the running test. Every store handed out in a
   * test shares its entries and leases with the others (one server, or one in-memory map) and
   * nothing else (each has its own connection); the first one of a test sees an empty store. A
   * store that keeps time itself follows {@code clock}, the clock of the test's caches. The
   * subclass closes what it opened after each test.
   */
  protected abstract CacheStore instanceStore(Clock clock);

  /**
   * Whether the store drops entries by the clock given to {@link #instanceStore} (the in-memory
   * store does; Redis expires them by its own clock, so under the tests' fake clock an entry is
   * still there at its logical expiry). When it does, the scenarios also check what a read sees
   * once an entry has expired.
   */
  protected boolean expiresByTheGivenClock() {
    return false;
  }

  /** A new instance of cache {@code name} of strings, on {@code clock}. */
  private CacheAsideBuilder<String, String> instance(String name, Clock clock) {
    return CacheAside.<String, String>builder(name).store(instanceStore(clock))
        .codec(Codec.utf8()).clock(clock);
  }

  /** A new instance of cache {@code name} of strings, on {@link #clock}. */
  private CacheAsideBuilder<String, String> instance(String name) {
    return instance(name, clock);
  }

  /** A new instance of cache "bulk", ids to strings. */
  private CacheAsideBuilder<Integer, String> bulkInstance() {
    return CacheAside.<Integer, String>builder("bulk").store(instanceStore(clock))
        .codec(Codec.utf8()).clock(clock);
  }

  /** A new instance whose store calls count in {@link #pending}, on {@code clock}. */
  private CacheAsideBuilder<String, String> quiet(String name, Clock clock) {
    return CacheAside.<String, String>builder(name)
        .store(new QuiescentStore(instanceStore(clock), pending)).codec(Codec.utf8()).clock(clock);
  }

  /** A store of this test, for looking at entries and leases through the SPI. */
  private CacheStore look() {
    if (look == null) {
      look = instanceStore(clock);
    }
    return look;
  }

  /** The store key of {@code key} in {@code cache}, now. */
  private static <K> String storeKey(CacheAside<K, ?> cache, K key) {
    return await(cache.storeKey(key));
  }

  /** Whether {@code storeKey} holds an entry (value or negative). */
  private boolean present(String storeKey) {
    return await(look().get(storeKey)) != null;
  }

  /** Whether no lease is held on {@code storeKey}: a lease can be taken (and is given back). */
  private boolean leaseFree(String storeKey) {
    CacheStore store = look();
    String token = await(store.tryLease(storeKey, Duration.ofSeconds(30)));
    if (token == null) {
      return false;
    }
    await(store.releaseLease(storeKey, token));
    return true;
  }

  private static List<BulkResult<Integer, String>> all(Flux<BulkResult<Integer, String>> flux) {
    return flux.collectList().block(Duration.ofSeconds(60));
  }

  // --- stampede --------------------------------------------------------------------------------

  /**
   * {@code subscribers} callers per instance, subscribed concurrently on the parallel scheduler,
   * read one cold key; the load is held until every caller has subscribed, so all of them arrive
   * while it is in flight.
   */
  private static List<String> stampede(List<CacheAside<String, String>> instances,
      int perInstance, AtomicInteger loads) {
    Sinks.One<String> gate = Sinks.one();
    Function<String, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return gate.asMono();
    };
    CountDownLatch subscribed = new CountDownLatch(instances.size() * perInstance);
    Mono<List<String>> all = Flux.fromIterable(instances)
        .flatMap(cache -> Flux.range(0, perInstance)
            .flatMap(i -> cache.cacheAside("cold", loader)
                .doOnSubscribe(s -> subscribed.countDown())
                .subscribeOn(Schedulers.parallel()), perInstance))
        .collectList();
    AtomicReference<List<String>> values = new AtomicReference<>();
    StepVerifier.create(all)
        .then(() -> {
          Latches.await(subscribed, "every subscriber to subscribe");
          gate.tryEmitValue("v");
        })
        .consumeNextWith(values::set)
        .expectComplete()
        .verify(WAIT);
    return values.get();
  }

  @ParameterizedTest(name = "shareReads={0}")
  @ValueSource(booleans = {true, false})
  void stampede_oneColdKey_thousandConcurrentSubscribers_loadsOnce(boolean shareReads) {
    // Generous lease times, so that no caller gives up waiting on a slow machine: the test
    // counts loads.
    CacheAside<String, String> cache = instance("e2e").shareReads(shareReads)
        .leaseTtl(Duration.ofSeconds(30)).leaseWait(Duration.ofSeconds(30)).build();
    AtomicInteger loads = new AtomicInteger();

    List<String> values = stampede(List.of(cache), SUBSCRIBERS, loads);

    assertThat(loads).as("loader calls").hasValue(1);
    assertThat(values).hasSize(SUBSCRIBERS).containsOnly("v");
    assertThat(cache.stats().loads()).isEqualTo(1);
    assertThat(cache.stats().requests()).isEqualTo(SUBSCRIBERS);
    assertThat(cache.stats().readsInFlight()).isZero();
    assertThat(present(storeKey(cache, "cold"))).as("the loaded value is stored").isTrue();
  }

  @ParameterizedTest(name = "{0} instances")
  @ValueSource(ints = {2, 4})
  void stampede_severalInstances_oneColdKey_oneLoadInTotal_throughTheLease(int count) {
    List<CacheAside<String, String>> instances = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      instances.add(instance("leases").leaseTtl(Duration.ofSeconds(30))
          .leaseWait(Duration.ofSeconds(30)).build());
    }
    AtomicInteger loads = new AtomicInteger();

    List<String> values = stampede(instances, SUBSCRIBERS / count, loads);

    assertThat(loads).as("loader calls across %d instances", count).hasValue(1);
    assertThat(values).hasSize(SUBSCRIBERS).containsOnly("v");
  }

  // --- hits, negatives, errors, corrupt entries ------------------------------------------------

  @Test
  void hit_doesNotLoadAgain() {
    CacheAside<String, String> cache = instance("t").build();
    CountingLoader loader = new CountingLoader();
    StepVerifier.create(cache.cacheAside("a", loader)).expectNext("value-of-a").verifyComplete();
    StepVerifier.create(cache.cacheAside("a", loader)).expectNext("value-of-a").verifyComplete();
    assertThat(loader.calls).hasValue(1);
    CacheStats stats = cache.stats();
    assertThat(stats.hits()).isEqualTo(1);
    assertThat(stats.misses()).isEqualTo(1);
  }

  @Test
  void emptyLoad_storesNegative_untilNegativeTtl() {
    CacheAside<String, String> cache = instance("t").negativeTtl(Duration.ofSeconds(30)).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> absent = key -> {
      calls.incrementAndGet();
      return Mono.empty();
    };
    StepVerifier.create(cache.cacheAside("gone", absent)).verifyComplete();
    StepVerifier.create(cache.cacheAside("gone", absent)).as("negative hit").verifyComplete();
    assertThat(calls).hasValue(1);
    assertThat(cache.stats().negativeHits()).isEqualTo(1);

    clock.advance(Duration.ofSeconds(29));
    StepVerifier.create(cache.cacheAside("gone", absent)).verifyComplete();
    assertThat(calls).as("still negative at 29 s").hasValue(1);

    clock.advance(Duration.ofSeconds(1));
    StepVerifier.create(cache.cacheAside("gone", absent)).verifyComplete();
    assertThat(calls).as("loads again at 30 s").hasValue(2);
  }

  @Test
  void loaderError_reachesEveryWaiter_cachesNothing_nextCallLoadsAgain() {
    CacheAside<String, String> cache = instance("t").build();
    AtomicInteger calls = new AtomicInteger();
    Sinks.One<String> gate = Sinks.one();
    Function<String, Mono<String>> loader = key -> {
      calls.incrementAndGet();
      return gate.asMono();
    };
    StepVerifier first = StepVerifier.create(cache.cacheAside("k", loader))
        .expectErrorMessage("database down").verifyLater();
    StepVerifier second = StepVerifier.create(cache.cacheAside("k", loader))
        .expectErrorMessage("database down").verifyLater();
    Poll.until("the load to start", WAIT, () -> calls.get() == 1);
    gate.tryEmitError(new IllegalStateException("database down"));
    first.verify(WAIT);
    second.verify(WAIT);
    assertThat(calls).hasValue(1);
    assertThat(cache.stats().loadFailures()).isEqualTo(1);
    assertThat(present(storeKey(cache, "k"))).as("nothing cached").isFalse();
    assertThat(leaseFree(storeKey(cache, "k"))).as("lease released").isTrue();

    CountingLoader good = new CountingLoader();
    StepVerifier.create(cache.cacheAside("k", good)).expectNext("value-of-k").verifyComplete();
    assertThat(good.calls).hasValue(1);
  }

  /** An envelope of this library's format and schema 0 whose header is cut short. */
  private static final byte[] BROKEN_ENVELOPE = {(byte) 0xCA, 2, 0, 0, 0, 0, 0, 1, 2, 3};

  @Test
  void corruptEntry_isAMiss_isDeleted_andTheLoaderAnswers() {
    CacheAside<String, String> cache = instance("e2e").build();
    String storeKey = storeKey(cache, "1");
    await(look().set(storeKey, BROKEN_ENVELOPE, Duration.ofMinutes(10)));
    AtomicInteger loads = new AtomicInteger();
    AtomicReference<Boolean> presentDuringLoad = new AtomicReference<>();
    CacheStore store = look();

    String value = cache.cacheAside("1", key -> {
      loads.incrementAndGet();
      // Non-blocking look at the store from inside the load: the corrupt entry is gone by now.
      return store.get(storeKey).hasElement()
          .doOnNext(presentDuringLoad::set)
          .thenReturn("fresh:" + key);
    }).block(WAIT);

    assertThat(value).isEqualTo("fresh:1");
    assertThat(presentDuringLoad).as("the corrupt entry was deleted before the load")
        .hasValue(false);
    assertThat(cache.stats().corruptEntries()).isEqualTo(1);
    byte[] stored = await(look().get(storeKey));
    assertThat(stored[0]).as("an envelope replaced the garbage").isEqualTo((byte) 0xCA);
    assertThat(cache.cacheAside("1", key -> Mono.error(new AssertionError("loaded again")))
        .block(WAIT)).as("the next read is a hit").isEqualTo("fresh:1");
    assertThat(loads).hasValue(1);
  }

  @Test
  void foreignValue_underACacheKey_isServedAround_neverDeletedNorOverwritten() {
    CacheAside<String, String> cache = instance("shared").build();
    String storeKey = storeKey(cache, "1");
    byte[] theirs = bytes("another application's plain string");
    await(look().set(storeKey, theirs, Duration.ofMinutes(10)));
    for (int i = 0; i < 3; i++) {
      StepVerifier.create(cache.cacheAside("1", key -> Mono.just("ours"))).expectNext("ours")
          .verifyComplete();
      StepVerifier.create(cache.cacheAsideAll(Flux.just("1"),
              keys -> Mono.just(Map.of("1", "ours"))).map(BulkResult::value))
          .expectNext("ours").verifyComplete();
    }
    assertThat(await(look().get(storeKey))).as("left as it was").isEqualTo(theirs);
    assertThat(cache.stats().foreignEntries()).isGreaterThanOrEqualTo(6);
    assertThat(cache.stats().corruptEntries()).isZero();
  }

  /** A record in two shapes, as two deploys of one service have it. */
  record PriceV1(String name) {}

  record PriceV2(String name, long priceCents) {}

  @Test
  void rollingDeploy_twoSchemaVersionsAlternating_eachServedItsOwnShape_nothingDeleted() {
    CacheAside<String, PriceV1> old = CacheAside.<String, PriceV1>builder("prices")
        .store(instanceStore(clock)).codec(dev.cacheaside.core.JsonCodec.of(PriceV1.class))
        .clock(clock).schemaVersion(1).build();
    CacheAside<String, PriceV2> updated = CacheAside.<String, PriceV2>builder("prices")
        .store(instanceStore(clock)).codec(dev.cacheaside.core.JsonCodec.of(PriceV2.class))
        .clock(clock).schemaVersion(2).build();
    AtomicInteger oldLoads = new AtomicInteger();
    AtomicInteger newLoads = new AtomicInteger();
    for (int round = 0; round < 3; round++) {
      StepVerifier.create(old.cacheAside("lamp", k -> {
        oldLoads.incrementAndGet();
        return Mono.just(new PriceV1("Lamp"));
      })).expectNext(new PriceV1("Lamp")).verifyComplete();
      StepVerifier.create(updated.cacheAside("lamp", k -> {
        newLoads.incrementAndGet();
        return Mono.just(new PriceV2("Lamp", 1999));
      })).as("never the old entry with a default price").expectNext(new PriceV2("Lamp", 1999))
          .verifyComplete();
    }
    assertThat(oldLoads).as("the first version cached its entry").hasValue(1);
    assertThat(newLoads).as("the second, finding the first's, loads without overwriting")
        .hasValue(3);
    assertThat(updated.stats().otherVersionEntries()).isEqualTo(3);
    assertThat(old.stats().corruptEntries() + updated.stats().corruptEntries())
        .as("nothing deleted as corrupt").isZero();
  }

  /**
   * Two instances whose own clocks are ten minutes apart share entries with a one-minute TTL:
   * entries are stamped and judged by the store's clock, so neither finds the other's fresh
   * entries stale, and both see them expire at one moment.
   */
  @Test
  void clocksMinutesApart_freshEntriesOfTheOther_areHits_andExpireForBoth() {
    Clock ahead = Clock.offset(clock, Duration.ofMinutes(10));
    CacheAside<String, String> early = CacheAside.<String, String>builder("skew")
        .store(instanceStore(clock)).codec(Codec.utf8()).clock(ahead)
        .ttl(Duration.ofMinutes(1)).build();
    CacheAside<String, String> late = instance("skew").ttl(Duration.ofMinutes(1)).build();
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return Mono.just("v" + key);
    };
    assertThat(late.cacheAside("a", loader).block(WAIT)).isEqualTo("va");
    assertThat(early.cacheAside("b", loader).block(WAIT)).isEqualTo("vb");

    assertThat(early.cacheAside("a", loader).block(WAIT)).isEqualTo("va");
    assertThat(late.cacheAside("b", loader).block(WAIT)).isEqualTo("vb");
    assertThat(loads).as("neither reloaded the other's fresh entry").hasValue(2);
    assertThat(early.stats().hits()).isEqualTo(1);
    assertThat(late.stats().hits()).isEqualTo(1);

    clock.advance(Duration.ofHours(1));
    assertThat(early.cacheAside("a", loader).block(WAIT)).isEqualTo("va");
    assertThat(late.cacheAside("b", loader).block(WAIT)).isEqualTo("vb");
    assertThat(loads).as("both expired for both, by the store's clock").hasValue(4);
  }

  /**
   * The same skew, but the instance ahead begins with a bump (as an invalidation listener does
   * when it connects) instead of a read: the bump must teach it the store's clock too, or for a
   * whole generation refresh interval it stamps and judges entries by its own, and finds the
   * other's fresh entries expired, single and bulk.
   */
  @Test
  void clocksMinutesApart_bumpBeforeAnyRead_freshEntriesOfTheOtherAreStillHits() {
    Clock ahead = Clock.offset(clock, Duration.ofMinutes(10));
    CacheAside<String, String> early = CacheAside.<String, String>builder("skew-bump")
        .store(instanceStore(clock)).codec(Codec.utf8()).clock(ahead)
        .ttl(Duration.ofMinutes(1)).generationRefresh(Duration.ofHours(1)).build();
    CacheAside<String, String> late = instance("skew-bump").ttl(Duration.ofMinutes(1))
        .generationRefresh(Duration.ofHours(1)).build();
    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      loads.incrementAndGet();
      return Mono.just("v" + key);
    };
    await(early.bumpGeneration());
    assertThat(late.cacheAside("a", loader).block(WAIT)).isEqualTo("va");
    StepVerifier.create(late.cacheAsideAll(Flux.just("b"), keys -> Mono.just(Map.of("b", "vb")))
        .map(BulkResult::value)).expectNext("vb").verifyComplete();

    assertThat(early.cacheAside("a", loader).block(WAIT)).isEqualTo("va");
    StepVerifier.create(early.cacheAsideAll(Flux.just("b"),
            keys -> Mono.error(new AssertionError("reloaded b")))
            .map(r -> r.isFailed() ? "failed: " + r.error().getMessage() : r.value()))
        .expectNext("vb").verifyComplete();
    assertThat(loads).as("the other instance's fresh entry was not reloaded").hasValue(1);
    assertThat(early.stats().hits()).isEqualTo(2);
  }

  // --- leases ----------------------------------------------------------------------------------

  /**
   * The race plain cache-aside loses: a reader misses and reads the old row; a writer on another
   * instance updates the row and invalidates; then the reader stores the old row, stale until its
   * TTL. Forced step by step: the reader's load is held until the write is done.
   */
  private String staleSetRace(boolean leases) {
    AtomicReference<String> row = new AtomicReference<>("old");
    CacheAside<String, String> reader = instance("leases").leases(leases).build();
    CacheAside<String, String> writer = instance("leases").leases(leases).build();
    Sinks.One<String> release = Sinks.one();
    CountDownLatch readerLoading = new CountDownLatch(1);
    StepVerifier readerDone = StepVerifier.create(reader.cacheAside("k", key -> {
      String seen = row.get();
      readerLoading.countDown();
      return release.asMono().thenReturn(seen);
    })).expectNext("old").expectComplete().verifyLater();
    Latches.await(readerLoading, "the reader to be inside its load");
    StepVerifier.create(writer.writeThenInvalidate("k", Mono.fromRunnable(() -> row.set("new"))))
        .verifyComplete();
    release.tryEmitValue("go");
    readerDone.verify(WAIT);
    return writer.cacheAside("k", key -> Mono.just(row.get())).block(WAIT);
  }

  @Test
  void staleSetRace_withLeases_cacheDoesNotKeepTheOldRow() {
    assertThat(staleSetRace(true)).isEqualTo("new");
  }

  @Test
  void staleSetRace_withoutLeases_cacheKeepsTheOldRow_provingTheTestCanFail() {
    assertThat(staleSetRace(false)).isEqualTo("old");
  }

  // --- cacheAsideAll ---------------------------------------------------------------------------

  @Test
  void bulk_duplicatesAndAbsentIds_answeredAsRequested_negativesStored_noSecondLoad() {
    CacheAside<Integer, String> cache = bulkInstance().build();
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
    assertThat(present(storeKey(cache, 500))).as("negative entry stored").isTrue();
    assertThat(cache.stats().negativeHits()).isEqualTo(2);
  }

  @Test
  void bulk_keyInFlightViaCacheAside_atTheSameMoment_oneLoad_bothWays() {
    CacheAside<Integer, String> cache = bulkInstance().build();
    // A single-key load in flight; the bulk read joins it.
    AtomicInteger singleLoads = new AtomicInteger();
    Sinks.One<String> single = Sinks.one();
    StepVerifier singleRead = StepVerifier.create(cache.cacheAside(7, k -> {
      singleLoads.incrementAndGet();
      return single.asMono();
    })).expectNext("single-7").expectComplete().verifyLater();
    Poll.until("single-key lease taken", WAIT, () -> singleLoads.get() == 1);
    Database rows = new Database(100);
    Sinks.Empty<Void> bulkGate = Sinks.empty();
    rows.gate = bulkGate.asMono();
    StepVerifier bulk = StepVerifier.create(
            cache.cacheAsideAll(Flux.just(6, 7, 8), rows, BulkOrder.REQUEST)
                .map(BulkResult::value).collectList())
        .assertNext(values -> assertThat(values).containsExactly("v6", "single-7", "v8"))
        .expectComplete().verifyLater();
    Poll.until("bulk load started", WAIT, () -> rows.calls.size() == 1);
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
    bulk.verify(WAIT);
    singleRead.verify(WAIT);
    joiner.verify(WAIT);
    assertThat(singleLoads).hasValue(1);
    assertThat(joinerLoads).as("joined the bulk load").hasValue(0);
    assertThat(cache.stats().readsInFlight()).isZero();
  }

  @Test
  void bulk_twoInstances_readTheSameKeys_oneLoadPerKeyAcrossThem() {
    CacheAside<Integer, String> a = bulkInstance().leaseWait(Duration.ofSeconds(30)).build();
    CacheAside<Integer, String> b = bulkInstance().leaseWait(Duration.ofSeconds(30)).build();
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

  @Test
  void bulk_requestOrder_acrossWindows_whileChunksCompleteOutOfOrder() {
    CacheAside<Integer, String> cache = bulkInstance().bulkWindow(4, Duration.ofSeconds(1))
        .bulkMaxLoadChunk(2).bulkConcurrency(8).build();
    all(cache.cacheAsideAll(Flux.just(3, 10), new Database(100)));
    // Chunks with larger keys answer sooner: whatever the completion order, request order holds.
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

  @Test
  void bulk_cancelMidStream_startedWindowsFinish_inflightMapEmpty_noLeaseLeft() {
    CacheAside<Integer, String> cache = bulkInstance().bulkWindow(20, Duration.ofSeconds(1))
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
    Poll.until("three windows loading", WAIT, () -> rows.calls.size() == 3);
    assertThat(cache.stats().readsInFlight()).isEqualTo(60);
    subscription.dispose();
    long pulledAtCancel = pulled.get();
    gate.tryEmitEmpty();

    Poll.until("in-flight map empty", WAIT, () -> cache.stats().readsInFlight() == 0);
    assertThat(pulled.get()).as("nothing pulled after the cancel").isEqualTo(pulledAtCancel);
    assertThat(pulledAtCancel).as("keys pulled ahead are bounded").isLessThanOrEqualTo(200);
    assertThat(rows.calls).as("no window started after the cancel").hasSize(3);
    assertThat(IntStream.range(0, (int) pulledAtCancel + 20).mapToObj(i -> storeKey(cache, i))
        .filter(key -> !leaseFree(key)).toList()).as("no lease left behind").isEmpty();
    StepVerifier.create(cache.cacheAside(59, k -> Mono.just("reloaded")))
        .as("the started windows stored their loads").expectNext("v59").verifyComplete();
  }

  @Test
  void bulk_errorInOneChunk_failsOnlyItsKeys_cachesNothingOfIt() {
    CacheAside<Integer, String> cache = bulkInstance().bulkMaxLoadChunk(5).build();
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
    assertThat(IntStream.range(0, 20).mapToObj(i -> storeKey(cache, i))
        .filter(k -> !leaseFree(k)).toList()).as("the failed chunk's leases were released")
        .isEmpty();
    assertThat(present(storeKey(cache, 7))).as("nothing cached for it").isFalse();

    rows.calls.clear();
    all(cache.cacheAsideAll(Flux.range(0, 20), rows));
    assertThat(rows.calls).containsExactly(Set.of(5, 6, 7, 8, 9));
  }

  // --- early refresh ---------------------------------------------------------------------------

  /** Reads, failing clearly if the read waits for anything but the store (a load held in time). */
  private static String read(CacheAside<String, String> cache, String key,
      Function<String, Mono<String>> loader) {
    try {
      return cache.cacheAside(key, loader).block(Duration.ofSeconds(10));
    } catch (IllegalStateException e) {
      throw new AssertionError("the read of " + key + " waited for a load", e);
    }
  }

  private static long sum(List<CacheAside<String, String>> caches, ToLongFunction<CacheStats> c) {
    return caches.stream().mapToLong(cache -> c.applyAsLong(cache.stats())).sum();
  }

  /**
   * A hot key read continuously by four instances over three TTLs, a loader that takes 200 ms of
   * (virtual) time: it is refreshed before every expiry, no reader ever misses or waits, and each
   * refresh is one load across the four instances.
   */
  @Test
  void earlyRefresh_hotKey_fourInstances_refreshedBeforeExpiry_noReaderMissesOrWaits() {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    try {
      Clock virtual = new SchedulerClock(time);
      SplittableRandom random = new SplittableRandom(3);
      List<CacheAside<String, String>> instances = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        instances.add(quiet("refresh", virtual).ttl(Duration.ofSeconds(4))
            .staleGrace(Duration.ofMinutes(1)).scheduler(time)
            .refreshScheduler(Schedulers.immediate())
            .earlyRefresh(EarlyRefresh.xfetch(1.0, random::nextDouble)).build());
      }
      AtomicInteger calls = new AtomicInteger();
      AtomicInteger running = new AtomicInteger();
      AtomicInteger mostAtOnce = new AtomicInteger();
      AtomicInteger scheduled = new AtomicInteger();
      Function<String, Mono<String>> loader = key -> {
        int n = calls.incrementAndGet();
        mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
        // Counted once its 200 ms are on the virtual clock, so the test can wait for that
        // before it moves the clock (a delay scheduled after the move would never end).
        return Mono.<String>create(sink -> {
          Disposable load = time.schedule(() -> sink.success("v" + n), 200,
              java.util.concurrent.TimeUnit.MILLISECONDS);
          sink.onDispose(load);
          scheduled.incrementAndGet();
        }).doFinally(s -> running.decrementAndGet());
      };
      AtomicReference<String> first = new AtomicReference<>();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      instances.get(0).cacheAside("hot", loader).subscribe(first::set, failed::set);
      // The first read reaches its loader through store calls that may answer on another thread
      // (a cluster connection), after a moment with none in flight: wait for the load itself.
      Poll.until("the first load scheduled", WAIT,
          () -> scheduled.get() == 1 || failed.get() != null);
      assertThat(failed.get()).as("the first read failed").isNull();
      time.advanceTimeBy(Duration.ofMillis(200));
      QuiescentStore.awaitQuiet(pending);
      assertThat(first.get()).isEqualTo("v1");

      // 12 s: a read every 10 ms, round robin over the instances
      List<String> seen = new ArrayList<>();
      for (int step = 0; step < 1200; step++) {
        time.advanceTimeBy(Duration.ofMillis(10));
        QuiescentStore.awaitQuiet(pending);
        seen.add(read(instances.get(step % 4), "hot", loader));
        QuiescentStore.awaitQuiet(pending);
      }

      long refreshes = sum(instances, CacheStats::refreshes);
      assertThat(sum(instances, CacheStats::misses)).as("only the first read missed").isOne();
      assertThat(sum(instances, CacheStats::staleHits)).as("nobody saw an expired value")
          .isZero();
      // XFetch refreshes earlier the more reads there are per load time (at 100 reads/s and a
      // 200 ms load, about 0.6 s before expiry), so a little more often than once per TTL.
      assertThat(refreshes).as("about one refresh per TTL").isBetween(2L, 5L);
      assertThat(calls).as("one load per refresh across four instances")
          .hasValue((int) refreshes + 1);
      assertThat(mostAtOnce).as("loads never overlapped").hasValue(1);
      assertThat(sum(instances, CacheStats::refreshFailures)).isZero();
      assertThat(sum(instances, CacheStats::totalRefreshLeadMillis)).isPositive();
      assertThat(seen).containsSubsequence("v1", "v2", "v3");
    } finally {
      time.dispose();
    }
  }

  /**
   * A hit starts a refresh whose loader reads the old row and is held; a write commits and
   * invalidates; a read after it loads the new row; then the refresh tries to store the old one.
   */
  private String invalidationDuringRefresh(boolean leases) {
    AtomicReference<String> row = new AtomicReference<>("old");
    Sinks.One<String> held = Sinks.one();
    CountDownLatch refreshLoading = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      String seen = row.get();
      if (calls.incrementAndGet() != 2) {
        return Mono.just(seen);
      }
      refreshLoading.countDown();
      return held.asMono().thenReturn(seen);
    };
    CacheAside<String, String> cache = quiet("refresh", clock).leases(leases)
        .ttl(Duration.ofSeconds(30)).earlyRefresh(EarlyRefresh.ahead(0.5)).build();
    assertThat(read(cache, "k", loader)).isEqualTo("old");
    // The read's flight leaves the map on its own thread just after the value arrived here; a
    // read before that would join it instead of reading the store (and see no hit).
    QuiescentStore.awaitQuiet(pending);
    clock.advance(Duration.ofSeconds(16));
    assertThat(read(cache, "k", loader)).as("the hit is served at once").isEqualTo("old");
    Latches.await(refreshLoading, "the refresh to be loading");
    assertThat(calls).as("the refresh called the loader").hasValue(2);
    assertThat(cache.stats().refreshesInFlight()).as("the refresh is held").isOne();
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.fromRunnable(() -> row.set("new"))))
        .verifyComplete();
    assertThat(read(cache, "k", loader))
        .as("a read after the invalidation does not join the refresh that began before it")
        .isEqualTo("new");
    held.tryEmitValue("go");
    // The refresh goes on on the refresh scheduler: wait until it has ended (its store, or its
    // refused store, included), not only until no store call is running at this moment.
    Poll.until("the refresh to end", WAIT, () -> cache.stats().refreshesInFlight() == 0);
    QuiescentStore.awaitQuiet(pending);
    assertThat(cache.stats().refreshes()).isOne();
    CacheAside<String, String> other = quiet("refresh", clock).leases(leases)
        .ttl(Duration.ofSeconds(30)).build();
    return read(other, "k", key -> Mono.just("loaded again"));
  }

  @Test
  void earlyRefresh_invalidationDuringRefresh_withLeases_refreshedOldValueIsNotStored() {
    assertThat(invalidationDuringRefresh(true)).isEqualTo("new");
  }

  @Test
  void earlyRefresh_invalidationDuringRefresh_withoutLeases_oldValueIsStored_provingTheTestCanFail() {
    assertThat(invalidationDuringRefresh(false)).isEqualTo("old");
  }

  @Test
  void earlyRefresh_failingLoader_oldValueServedUntilExpiry_refreshAttemptsBackedOff() {
    CacheAside<String, String> cache = quiet("refresh", clock)
        .ttl(Duration.ofSeconds(100)).earlyRefresh(EarlyRefresh.ahead(0.5))
        .refreshScheduler(Schedulers.immediate())
        .refreshBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30)).build();
    List<Long> attempts = new CopyOnWriteArrayList<>();
    AtomicBoolean failing = new AtomicBoolean();
    Function<String, Mono<String>> loader = key -> {
      if (!failing.get()) {
        return Mono.just("v1");
      }
      attempts.add(clock.millis());
      return Mono.error(new IllegalStateException("database down"));
    };
    long loadedAt = clock.millis();
    assertThat(read(cache, "k", loader)).isEqualTo("v1");
    QuiescentStore.awaitQuiet(pending);
    byte[] entry = await(look().get(storeKey(cache, "k")));
    failing.set(true);

    for (int i = 1; i < 1_000; i++) {
      clock.advance(Duration.ofMillis(100));
      assertThat(read(cache, "k", loader)).isEqualTo("v1");
      QuiescentStore.awaitQuiet(pending);
    }
    // at the ahead point (45..50 s), then after 1, 2, 4, 8 and 16 s; the next would be 30 s
    // later (the cap), past the expiry at 100 s.
    assertThat(attempts).hasSize(6);
    assertThat(attempts.get(0) - loadedAt).isBetween(45_000L, 50_000L);
    List<Long> pauses = new ArrayList<>();
    for (int i = 1; i < attempts.size(); i++) {
      pauses.add(attempts.get(i) - attempts.get(i - 1));
    }
    assertThat(pauses).containsExactly(1_000L, 2_000L, 4_000L, 8_000L, 16_000L);
    assertThat(cache.stats().refreshes()).isEqualTo(6);
    assertThat(cache.stats().refreshFailures()).isEqualTo(6);
    assertThat(cache.stats().misses()).as("stats %s", cache.stats()).isOne();
    byte[] after = await(look().get(storeKey(cache, "k")));
    assertThat(after).as("the failed refreshes left the entry as it was").isEqualTo(entry);
    assertThat(ByteBuffer.wrap(after).getLong(15) - loadedAt)
        .as("so it expires at its time: the envelope's expiresAt").isEqualTo(100_000L);
    if (expiresByTheGivenClock()) {
      clock.advance(Duration.ofMillis(100));
      StepVerifier.create(cache.cacheAside("k", loader)).as("the entry expired at its time")
          .expectErrorMessage("database down").verify(WAIT);
    }
  }

  /**
   * {@code cacheAsideAll}: the due hits of a window are answered at once and refreshed with one
   * bulk load, stored under their leases.
   */
  @Test
  void earlyRefresh_bulkHits_dueKeysOfAWindow_refreshedWithOneBulkLoad() {
    CacheAside<String, String> cache = quiet("refresh", clock).ttl(Duration.ofSeconds(30))
        .refreshScheduler(Schedulers.immediate()).earlyRefresh(EarlyRefresh.ahead(0.5)).build();
    List<Set<String>> calls = new CopyOnWriteArrayList<>();
    AtomicInteger version = new AtomicInteger(1);
    BulkLoader<String, String> db = keys -> {
      calls.add(Set.copyOf(keys));
      int v = version.get();
      return Flux.fromIterable(keys).collectMap(k -> k, k -> v + "-" + k);
    };
    List<String> keys = IntStream.range(0, 50).mapToObj(i -> "item" + i).toList();
    Supplier<Map<String, String>> readAll = () -> cache.cacheAsideAll(Flux.fromIterable(keys), db)
        .collectMap(BulkResult::key, r -> String.valueOf(r.value()))
        .block(Duration.ofSeconds(10));
    assertThat(readAll.get()).containsEntry("item7", "1-item7");
    QuiescentStore.awaitQuiet(pending);
    clock.advance(Duration.ofSeconds(16));
    version.set(2);
    assertThat(readAll.get()).as("hits answered with the old values")
        .containsEntry("item7", "1-item7").hasSize(50);
    QuiescentStore.awaitQuiet(pending);
    assertThat(calls).hasSize(2);
    assertThat(calls.get(1)).as("one bulk load for the window's due keys")
        .containsExactlyInAnyOrderElementsOf(keys);
    assertThat(readAll.get()).containsEntry("item7", "2-item7").containsEntry("item49",
        "2-item49");
    assertThat(cache.stats().refreshes()).isEqualTo(50);
    assertThat(cache.stats().leasesLost()).isZero();
  }
}
