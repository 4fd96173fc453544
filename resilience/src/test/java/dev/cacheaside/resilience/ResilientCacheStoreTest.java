package dev.cacheaside.resilience;

import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.StepVerifier;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.core.testkit.FaultyStore;

/**
 * The decorator on the in-memory store behind a {@link FaultyStore}: reads keep being answered
 * while the store is down or frozen, and no invalidation is lost across an outage.
 */
class ResilientCacheStoreTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final InMemoryCacheStore memory = InMemoryCacheStore.create();
  private final FaultyStore faulty = new FaultyStore(memory);
  private final MutableClock breakerClock = new MutableClock();
  /** The source of truth. */
  private final Map<String, String> db = new ConcurrentHashMap<>();
  private final AtomicInteger loads = new AtomicInteger();
  private ResilientCacheStore store;

  private ResilientCacheStore store(UnaryOperator<ResilientCacheStore.Builder> options) {
    // The breaker's clock stands still, so a spurious timeout on a busy machine would open it for
    // good: the in-memory store gets a limit it cannot miss; tests of a frozen store shorten it.
    store = options.apply(ResilientCacheStore.builder(faulty)
            .timeLimit(Duration.ofSeconds(1))
            .circuitBreakerConfig(CircuitBreakerConfig.from(
                    ResilientCacheStore.DEFAULT_CIRCUIT_BREAKER_CONFIG)
                .clock(breakerClock).build())
            .replayRetryInterval(Duration.ofMillis(10))
            // Tests that end with invalidations owed need not wait for them at close.
            .closeTimeout(Duration.ofMillis(100)))
        .build();
    return store;
  }

  @AfterEach
  void close() {
    if (store != null) {
      store.close();
    }
  }

  private CacheAside<String, String> cache(String name, CacheStore on) {
    return CacheAside.<String, String>builder(name).store(on).codec(Codec.utf8())
        .generationRefresh(Duration.ofMillis(20)).build();
  }

  private Mono<String> read(CacheAside<String, String> cache, String key) {
    return cache.cacheAside(key, k -> {
      loads.incrementAndGet();
      return Mono.justOrEmpty(db.get(k));
    });
  }

  private Mono<String> write(CacheAside<String, String> cache, String key, String value) {
    return cache.writeThenInvalidate(key, Mono.fromCallable(() -> {
      db.put(key, value);
      return value;
    }));
  }

  private static List<String> keys(int n) {
    return IntStream.range(0, n).mapToObj(i -> "k" + i).toList();
  }

  /** Reads every key {@code times} times on parallel threads, 32 at once; all must answer. */
  private List<String> readAll(CacheAside<String, String> cache, List<String> keys, int times) {
    return Flux.range(0, times).concatMap(round -> Flux.fromIterable(keys))
        .flatMap(k -> read(cache, k).subscribeOn(Schedulers.parallel()), 32)
        .collectList().block(WAIT);
  }

  /**
   * Loads every key into the cache on this thread: with the in-memory store each read ends here,
   * in-flight entry removed, so a later read cannot join it and skip the store.
   */
  private void warm(CacheAside<String, String> cache, List<String> keys, String version) {
    keys.forEach(k -> {
      db.put(k, version + "-" + k);
      read(cache, k).block(WAIT);
    });
  }

  /**
   * Takes the store down, reads until the breaker is open (so deletes are skipped, not tried),
   * then writes {@code written}: each write succeeds and no invalidation is reported lost.
   */
  private void writeWhileDown(CacheAside<String, String> cache, List<String> keys,
      List<String> written) {
    faulty.mode = FaultyStore.Mode.DOWN;
    // The failures must outweigh the warm-up's successes in the breaker's window.
    Poll.until("the breaker to open", WAIT, () -> {
      readAll(cache, keys, 1);
      return store.circuitBreaker().getState() == CircuitBreaker.State.OPEN;
    });
    Flux.fromIterable(written).flatMap(k -> write(cache, k, "v1-" + k)).blockLast(WAIT);
    assertThat(cache.stats().invalidationFailures())
        .as("queued invalidations are not reported lost").isZero();
  }

  /** The store answers again and the breaker's open wait is over. */
  private void storeBack() {
    faulty.mode = FaultyStore.Mode.UP;
    breakerClock.advance(Duration.ofSeconds(2));
  }

  /** Reads {@code key} twice: the second is a hit on {@code value}. */
  private void assertCachedAgain(CacheAside<String, String> cache, String key, String value) {
    assertThat(read(cache, key).block(WAIT)).isEqualTo(value);
    long hits = cache.stats().hits();
    assertThat(read(cache, key).block(WAIT)).isEqualTo(value);
    assertThat(cache.stats().hits()).as("cached again").isEqualTo(hits + 1);
  }

  /** Every key read through the cache equals the database, and came from where it should. */
  private void assertEveryKeyMatchesTheDatabase(CacheAside<String, String> cache,
      List<String> keys) {
    for (String key : keys) {
      assertThat(read(cache, key).block(WAIT)).as("read of %s after recovery", key)
          .isEqualTo(db.get(key));
    }
  }

  /** The raw entry (envelope header, then the value) under a store key, or null. */
  private String inMemory(String storeKey) {
    byte[] bytes = memory.get(storeKey).block(WAIT);
    return bytes == null ? null : new String(bytes, StandardCharsets.ISO_8859_1);
  }

  @Test
  void storeDown_everyReadAnsweredByTheLoader_breakerOpens_thenTheStoreIsSkipped() {
    CacheAside<String, String> cache = cache("items", store(b -> b));
    List<String> keys = keys(20);
    warm(cache, keys, "v0");

    faulty.mode = FaultyStore.Mode.DOWN;
    List<String> during = readAll(cache, keys, 10);
    assertThat(during).as("no read fails; values come from the database").hasSize(200)
        .allMatch(v -> v.startsWith("v0-"));
    assertThat(store.circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.OPEN);

    int callsWhileOpen = faulty.calls.get();
    readAll(cache, keys, 5);
    assertThat(faulty.calls.get()).as("store calls while the breaker is open")
        .isEqualTo(callsWhileOpen);
    assertThat(store.stats().skippedCalls()).isPositive();

    storeBack();
    readAll(cache, keys, 1);
    assertThat(store.circuitBreaker().getState()).as("half-open probes succeeded")
        .isEqualTo(CircuitBreaker.State.CLOSED);
    long hitsBefore = cache.stats().hits();
    readAll(cache, keys, 2);
    assertThat(cache.stats().hits() - hitsBefore).as("hits resume").isGreaterThanOrEqualTo(20);
  }

  /** Every call reaches the store after {@code delay} on {@code clock}'s scheduler. */
  static final class SlowStore extends ForwardingCacheStore {
    private final Duration delay;
    private final Scheduler clock;

    SlowStore(CacheStore delegate, Duration delay, Scheduler clock) {
      super(delegate);
      this.delay = delay;
      this.clock = clock;
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      return Mono.delay(delay, clock).then(call);
    }

    @Override
    protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
      return Mono.delay(delay, clock).thenMany(call);
    }
  }

  @Test
  void callsAboutManyKeys_getTheBulkTimeLimit_singleKeyCallsTheShorterOne() {
    memory.set("a", "1".getBytes(StandardCharsets.UTF_8), Duration.ofMinutes(1)).block(WAIT);
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    Duration slow = Duration.ofMillis(100);
    try (ResilientCacheStore slowStore = ResilientCacheStore.builder(
                new SlowStore(memory, slow, time))
            .timeLimit(Duration.ofMillis(50)).bulkTimeLimit(Duration.ofMillis(250))
            .scheduler(time).ownsStore(false).build();
        ResilientCacheStore slowerStore = ResilientCacheStore.builder(
                new SlowStore(memory, Duration.ofMillis(400), time))
            .bulkTimeLimit(Duration.ofMillis(250)).scheduler(time).ownsStore(false).build()) {
      StepVerifier.create(slowStore.getAll(List.of("a", "b")))
          .then(() -> time.advanceTimeBy(slow))
          .assertNext(found -> assertThat(found).containsOnlyKeys("a"))
          .verifyComplete();
      StepVerifier.create(slowStore.setAll(List.of(
              new CacheStore.StoreEntry("b", new byte[] {1}, Duration.ofMinutes(1)))))
          .then(() -> time.advanceTimeBy(slow))
          .verifyComplete();
      StepVerifier.create(slowStore.get("a"))
          .then(() -> time.advanceTimeBy(slow))
          .expectError(TimeoutException.class)
          .verify(WAIT);
      StepVerifier.create(slowerStore.getAll(List.of("a", "b")))
          .then(() -> time.advanceTimeBy(Duration.ofMillis(400)))
          .expectError(TimeoutException.class)
          .verify(WAIT);
      assertThat(slowStore.stats().timeouts()).isEqualTo(1);
      assertThat(slowStore.circuitBreaker().getState()).as("one timeout is no evidence")
          .isEqualTo(CircuitBreaker.State.CLOSED);
    }
  }

  @Test
  void bulkTimeLimit_defaultsToTheLongerOfItsDefaultAndTheSingleKeyLimit() {
    assertThat(ResilientCacheStore.builder(memory).build().bulkTimeLimit())
        .isEqualTo(ResilientCacheStore.DEFAULT_BULK_TIME_LIMIT);
    assertThat(ResilientCacheStore.builder(memory).timeLimit(Duration.ofSeconds(1)).build()
        .bulkTimeLimit()).isEqualTo(Duration.ofSeconds(1));
    assertThatThrownBy(() -> ResilientCacheStore.builder(memory).bulkTimeLimit(Duration.ZERO))
        .hasMessageContaining("bulkTimeLimit must be at least 1 ms");
  }

  @Test
  void storeFrozen_everyCallIsCutAtTheTimeLimit_readsCompleteWhileItStaysFrozen() {
    CacheAside<String, String> cache =
        cache("items", store(b -> b.timeLimit(Duration.ofMillis(250))));
    List<String> keys = keys(10);
    warm(cache, keys, "v0");

    faulty.mode = FaultyStore.Mode.FROZEN;
    assertThat(readAll(cache, keys, 5)).as("answered while the store never answers")
        .hasSize(50).allMatch(v -> v.startsWith("v0-"));
    assertThat(store.stats().timeouts()).isPositive();
    assertThat(store.circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void storeFrozen_aReadSpendsATimeLimitPerStoreCall_oneTimeoutDoesNotOpenTheBreaker() {
    CacheAside<String, String> cache =
        cache("items", store(b -> b.timeLimit(Duration.ofMillis(100))));
    warm(cache, List.of("k"), "v0");
    faulty.mode = FaultyStore.Mode.FROZEN;
    int callsBefore = faulty.calls.get();
    assertThat(read(cache, "k").block(WAIT)).isEqualTo("v0-k");
    assertThat(faulty.calls.get() - callsBefore)
        .as("store calls of the read: the GET and the lease script, each cut off")
        .isEqualTo(2);
    assertThat(store.stats().timeouts()).isEqualTo(2);
    assertThat(store.circuitBreaker().getState()).as("two timeouts are no evidence yet")
        .isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void writesWhileDown_invalidationsQueued_thenReplayed_noReadOlderThanTheLastWrite() {
    CacheAside<String, String> cache = cache("items", store(b -> b));
    List<String> keys = keys(50);
    warm(cache, keys, "v0");
    String k0 = cache.storeKey("k0").block(WAIT);

    List<String> written = keys.subList(0, 20);
    writeWhileDown(cache, keys, written);
    assertThat(store.pendingInvalidations()).isEqualTo(20);
    assertThat(inMemory(k0)).as("the store still holds the old entry").isNotNull();
    assertThat(readAll(cache, written, 1)).as("reads during the outage see the writes")
        .allMatch(v -> v.startsWith("v1-"));

    storeBack();
    Poll.until("the replay", WAIT, store::recovered);
    assertThat(store.stats().invalidationsReplayed()).isEqualTo(20);
    assertThat(inMemory(k0)).as("replayed delete").isNull();
    assertEveryKeyMatchesTheDatabase(cache, keys);
  }

  @Test
  void keyWithAnOwedInvalidation_isNotReadFromTheStore_untilTheDeleteReachesIt() {
    CacheAside<String, String> cache = cache("items",
        store(b -> b.replayRetryInterval(Duration.ofMinutes(1))));
    warm(cache, List.of("k"), "v0");
    String k = cache.storeKey("k").block(WAIT);

    faulty.failDeletes = true;
    assertThat(write(cache, "k", "v1").block(WAIT)).isEqualTo("v1");
    assertThat(inMemory(k)).as("the stale entry is still there").endsWith("v0-k");
    assertThat(read(cache, "k").block(WAIT)).as("held back from the store, loaded")
        .isEqualTo("v1");
    assertThat(store.stats().heldBackReads()).isPositive();
    assertThat(inMemory(k)).as("nothing cached while held back").endsWith("v0-k");

    faulty.failDeletes = false;
    assertThat(cache.invalidate("k").block(WAIT)).isNull();
    assertThat(store.recovered()).as("a delete that succeeded clears what was owed").isTrue();
    assertCachedAgain(cache, "k", "v1");
  }

  @Test
  void queueOverflow_bumpsTheGenerationOfEveryCacheSeen_noReadOlderThanTheLastWrite() {
    // "others" is idle after the outage: the hold on reads ends with the settle time.
    ResilientCacheStore resilient = store(b -> b.maxPendingInvalidations(3)
        .generationSettle(Duration.ofMillis(300)));
    CacheAside<String, String> items = cache("items", resilient);
    CacheAside<String, String> others = cache("others", resilient);
    List<String> keys = keys(30);
    warm(items, keys, "v0");
    warm(others, keys, "v0");
    String k0 = items.storeKey("k0").block(WAIT);

    writeWhileDown(items, keys, keys.subList(0, 10));
    assertThat(resilient.stats().invalidationsOverflowed()).isEqualTo(10);
    assertThat(resilient.pendingInvalidations()).isZero();

    storeBack();
    Poll.until("the generation bump", WAIT, () -> resilient.stats().generationBumps() == 2);
    assertEveryKeyMatchesTheDatabase(items, keys);
    assertThat(inMemory(k0)).as("old entries are unreachable, not deleted")
        .endsWith("v0-k0");
    Poll.until("the bump to settle", WAIT, resilient::recovered);
    assertEveryKeyMatchesTheDatabase(items, keys);
    assertEveryKeyMatchesTheDatabase(others, keys);
  }

  @Test
  void afterABump_readsAreHeldBack_untilTheCacheReReadsItsGeneration() {
    ResilientCacheStore resilient = store(b -> b.maxPendingInvalidations(0)
        .generationSettle(Duration.ofMinutes(1)));
    // The cache remembers its generation for 200 ms: right after the bump it still uses the old
    // one, whose entries include the one whose invalidation was lost.
    CacheAside<String, String> cache = CacheAside.<String, String>builder("items")
        .store(resilient).codec(Codec.utf8()).generationRefresh(Duration.ofMillis(200)).build();
    warm(cache, List.of("k"), "v0");
    String k = cache.storeKey("k").block(WAIT);

    faulty.failDeletes = true;
    assertThat(write(cache, "k", "v1").block(WAIT)).isEqualTo("v1");
    Poll.until("the generation bump", WAIT, () -> resilient.stats().generationBumps() == 1);
    assertThat(read(cache, "k").block(WAIT)).as("held back, not read under the old generation")
        .isEqualTo("v1");

    Poll.until("the cache to re-read its generation", WAIT, () -> {
      read(cache, "k").block(WAIT);
      return resilient.recovered();
    });
    assertCachedAgain(cache, "k", "v1");
  }

  @Test
  void queueFull_andNoGenerationCounterKnown_theDeleteFails() {
    ResilientCacheStore resilient = store(b -> b.maxPendingInvalidations(0));
    faulty.mode = FaultyStore.Mode.DOWN;
    StepVerifier.create(resilient.delete("x")).expectErrorMessage("store is down")
        .verify(WAIT);
    assertThat(resilient.stats().invalidationsLost()).isEqualTo(1);

    StepVerifier.create(resilient.generation("items"))
        .expectError().verify(WAIT);
    StepVerifier.create(resilient.delete("x")).as("covered by a bump of the counter now known")
        .verifyComplete();
    assertThat(resilient.stats().invalidationsOverflowed()).isEqualTo(1);
  }

  @Test
  void deletesOfManyCallers_whileTheStoreComesBack_noneIsLost() {
    ResilientCacheStore resilient = store(b -> b.replayBatchSize(7));
    List<String> keys = keys(1_000);
    keys.forEach(k -> memory.set(k, new byte[] {1}, Duration.ofMinutes(1)).block());
    faulty.mode = FaultyStore.Mode.DOWN;
    Flux.range(0, keys.size())
        .flatMap(i -> Mono.defer(() -> {
          if (i == keys.size() / 2) {
            storeBack();
          }
          return resilient.delete(keys.get(i));
        }).subscribeOn(Schedulers.parallel()), 64)
        .blockLast(WAIT);
    Poll.until("the replay", WAIT, resilient::recovered);
    assertThat(memory.getAll(keys).block(WAIT)).as("keys still in the store").isEmpty();
    assertThat(resilient.stats().invalidationsLost()).isZero();
  }

  @Test
  void multiKeyReadsAndWrites_passThroughAndAreHeldBackLikeSingleOnes() {
    ResilientCacheStore resilient = store(b -> b.replayRetryInterval(Duration.ofMinutes(1)));
    memory.set("a", new byte[] {1}, Duration.ofMinutes(1)).block();
    StepVerifier.create(resilient.getAll(List.of("a", "b")))
        .assertNext(found -> assertThat(found).containsOnlyKeys("a")).verifyComplete();
    StepVerifier.create(resilient.getOrLeaseAll(List.of("a", "b"), Duration.ofSeconds(1))
            .map(CacheStore.KeyedLookup::key).sort())
        .expectNext("a", "b").verifyComplete();

    faulty.failDeletes = true;
    StepVerifier.create(resilient.delete("a")).verifyComplete();
    StepVerifier.create(resilient.getAll(List.of("a", "b"))).expectError(HeldBackException.class)
        .verify(WAIT);
    StepVerifier.create(resilient.getOrLeaseAll(List.of("a"), Duration.ofSeconds(1)))
        .expectError(HeldBackException.class).verify(WAIT);
    StepVerifier.create(resilient.getAll(List.of("b"))).assertNext(m -> assertThat(m).isEmpty())
        .verifyComplete();
  }

  @Test
  void wrap_withAGivenBreaker_usesIt() {
    CircuitBreaker breaker = CircuitBreaker.ofDefaults("mine");
    ResilientCacheStore resilient = ResilientCacheStore.wrap(memory, breaker);
    assertThat(resilient.circuitBreaker()).isSameAs(breaker);
    assertThat(ResilientCacheStore.wrap(memory).timeLimit())
        .isEqualTo(ResilientCacheStore.DEFAULT_TIME_LIMIT);
  }

  @Test
  void builder_rejectsBadValuesAndClashes_namingThem() {
    ResilientCacheStore.Builder b = ResilientCacheStore.builder(memory);
    assertThatThrownBy(() -> ResilientCacheStore.builder(null))
        .hasMessage("store must not be null");
    assertThatThrownBy(() -> b.name(" ")).hasMessage("name must not be blank");
    assertThatThrownBy(() -> b.timeLimit(Duration.ZERO))
        .hasMessage("timeLimit must be at least 1 ms but was PT0S");
    assertThatThrownBy(() -> b.maxPendingInvalidations(-1))
        .hasMessage("maxPendingInvalidations must not be negative but was -1");
    assertThatThrownBy(() -> b.replayBatchSize(0))
        .hasMessage("replayBatchSize must be positive but was 0");
    assertThatThrownBy(() -> b.replayRetryInterval(Duration.ofNanos(5)))
        .hasMessage("replayRetryInterval must be at least 1 ms but was PT0.000000005S");
    assertThatThrownBy(() -> b.generationSettle(Duration.ofSeconds(-1)))
        .hasMessage("generationSettle must not be negative but was PT-1S");
    assertThatThrownBy(() -> ResilientCacheStore.builder(memory)
        .circuitBreaker(CircuitBreaker.ofDefaults("x"))
        .circuitBreakerConfig(CircuitBreakerConfig.ofDefaults()).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("store 'cache-store': set circuitBreaker(...) or circuitBreakerConfig(...), "
            + "not both");
    assertThatThrownBy(() -> b.closeTimeout(Duration.ofSeconds(-1)))
        .hasMessage("closeTimeout must not be negative but was PT-1S");
  }
}
