package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.core.spi.CacheStore.KeyedLookup;
import dev.cacheaside.testing.VirtualTime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Leases across instances (separate {@link CacheAside}s sharing one store, as separate services
 * share one Redis), the stale-set race, lease takeover and stale grace, on the in-memory store.
 * The Redis module runs the same scenarios against a real Redis.
 */
class LeaseTest {
  @RegisterExtension
  final VirtualTime virtual = new VirtualTime();
  private final VirtualTimeScheduler time = virtual.scheduler();
  /** Wall time for entries and leases, driven by the same virtual time as the timers. */
  private final Clock clock = virtual.clock();
  private final InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();

  /** The store key of {@code key} in cache "t", which every instance of a test shares. */
  private String key(String key) {
    return instance().build().storeKey(key).block(Duration.ofSeconds(5));
  }

  private CacheAsideBuilder<String, String> instance() {
    return CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8()).clock(clock)
        .scheduler(time);
  }

  @Test
  void leaseHolderDies_waiterTakesOverAfterLeaseTtl() {
    CacheAside<String, String> dying = instance().leaseTtl(Duration.ofSeconds(2))
        .leaseWait(Duration.ofSeconds(10)).build();
    CacheAside<String, String> waiting = instance().leaseTtl(Duration.ofSeconds(2))
        .leaseWait(Duration.ofSeconds(10)).build();
    AtomicInteger waiterLoads = new AtomicInteger();
    dying.cacheAside("k", key -> Mono.never()).subscribe();

    StepVerifier.withVirtualTime(() -> waiting.cacheAside("k", key -> {
      waiterLoads.incrementAndGet();
      return Mono.just("v");
    }), () -> time, Long.MAX_VALUE)
        .expectSubscription()
        .then(() -> assertThat(waiting.stats().leaseWaits()).isEqualTo(1))
        .thenAwait(Duration.ofMillis(1999))
        .then(() -> assertThat(waiterLoads).as("lease still held").hasValue(0))
        .thenAwait(Duration.ofMillis(200))
        .expectNext("v")
        .verifyComplete();
    assertThat(waiterLoads).hasValue(1);
    StepVerifier.create(waiting.cacheAside("k", key -> Mono.just("other"))).expectNext("v")
        .as("the waiter held the lease, so it stored").verifyComplete();
  }

  @Test
  void leaseWaitBudgetSpent_waiterLoadsWithoutStoring() {
    CacheAside<String, String> holder = instance().build();
    CacheAside<String, String> waiting = instance().leaseWait(Duration.ofMillis(300)).build();
    holder.cacheAside("k", key -> Mono.never()).subscribe();
    StepVerifier.withVirtualTime(() -> waiting.cacheAside("k", key -> Mono.just("own")),
            () -> time, Long.MAX_VALUE)
        .expectSubscription()
        .thenAwait(Duration.ofMillis(400))
        .expectNext("own")
        .verifyComplete();
    assertThat(store.get(key("k")).block()).as("no value stored without the lease").isNull();
  }

  @Test
  void loadFailure_releasesLease_waiterTakesOverAtOnce() {
    CacheAside<String, String> failing = instance().build();
    CacheAside<String, String> waiting = instance().leaseWait(Duration.ofSeconds(10)).build();
    Sinks.One<String> gate = Sinks.one();
    StepVerifier failed = StepVerifier.create(failing.cacheAside("k", key -> gate.asMono()))
        .expectErrorMessage("db").verifyLater();
    StepVerifier.withVirtualTime(() -> waiting.cacheAside("k", key -> Mono.just("v")),
            () -> time, Long.MAX_VALUE)
        .expectSubscription()
        .then(() -> gate.tryEmitError(new IllegalStateException("db")))
        .thenAwait(Duration.ofMillis(200))
        .as("taken over after a poll or two, not after the 5 s lease TTL")
        .expectNext("v")
        .verifyComplete();
    failed.verify(Duration.ofSeconds(5));
  }

  @Test
  void staleWithinGrace_oneRefreshes_othersServedStale() {
    CacheAside<String, String> a = instance().ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofSeconds(5)).build();
    CacheAside<String, String> b = instance().ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofSeconds(5)).build();
    a.cacheAside("k", key -> Mono.just("v1")).block();
    time.advanceTimeBy(Duration.ofSeconds(11));

    Sinks.One<String> refresh = Sinks.one();
    StepVerifier refreshing = StepVerifier.create(a.cacheAside("k", key -> refresh.asMono()))
        .as("the lease holder waits for its load: never handed stale as fresh")
        .expectNext("v2").expectComplete().verifyLater();
    StepVerifier.create(b.cacheAside("k", key -> Mono.just("should not load")))
        .as("another instance is served the stale value while the refresh runs")
        .expectNext("v1").verifyComplete();
    assertThat(b.stats().staleHits()).isEqualTo(1);
    refresh.tryEmitValue("v2");
    refreshing.verify(Duration.ofSeconds(5));
    StepVerifier.create(b.cacheAside("k", key -> Mono.just("x"))).expectNext("v2")
        .verifyComplete();
  }

  @Test
  void staleWithinGrace_loaderFails_staleServed() {
    CacheAside<String, String> cache = instance().ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofSeconds(5)).build();
    cache.cacheAside("k", key -> Mono.just("v1")).block();
    time.advanceTimeBy(Duration.ofSeconds(12));
    StepVerifier.create(cache.cacheAside("k", key -> Mono.error(new IllegalStateException("db"))))
        .as("stale-if-error").expectNext("v1").verifyComplete();
    assertThat(cache.stats().staleHits()).isEqualTo(1);
    assertThat(cache.stats().loadFailures()).isEqualTo(1);

    time.advanceTimeBy(Duration.ofSeconds(4));
    StepVerifier.create(cache.cacheAside("k", key -> Mono.error(new IllegalStateException("db"))))
        .as("past the grace nothing stale is left").expectErrorMessage("db")
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void staleWithinGrace_leasesOff_refreshesInline_staleIfError() {
    CacheAside<String, String> cache = instance().leases(false).ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofSeconds(5)).build();
    cache.cacheAside("k", key -> Mono.just("v1")).block();
    time.advanceTimeBy(Duration.ofSeconds(11));
    StepVerifier.create(cache.cacheAside("k", key -> Mono.error(new IllegalStateException("db"))))
        .expectNext("v1").verifyComplete();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("v2"))).expectNext("v2")
        .verifyComplete();
  }

  /** The in-memory store, with lease-end hints that the test sends by hand. */
  private static final class HintingStore extends ForwardingCacheStore {
    private final Map<String, Sinks.Empty<Void>> hints = new ConcurrentHashMap<>();
    private final AtomicInteger watches = new AtomicInteger();
    /** Watches subscribed and not yet ended or cancelled: must be 0 once nobody waits. */
    private final AtomicInteger active = new AtomicInteger();
    /** How {@link #leaseEnded} fails: not at all, with an error signal, or by throwing. */
    private volatile String failing = "no";

    /** When set, the next {@code getOrLease} answers only when this emits. */
    private volatile Sinks.@Nullable One<Boolean> holdNextLookup;

    HintingStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
      Mono<StoreLookup> call = super.getOrLease(key, leaseTtl);
      Sinks.One<Boolean> hold = holdNextLookup;
      if (hold == null) {
        return call;
      }
      holdNextLookup = null;
      return call.delayUntil(lookup -> hold.asMono());
    }

    @Override
    public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
      Flux<KeyedLookup> call = super.getOrLeaseAll(keys, leaseTtl);
      Sinks.One<Boolean> hold = holdNextLookup;
      if (hold == null) {
        return call;
      }
      holdNextLookup = null;
      return call.collectList().delayUntil(lookups -> hold.asMono()).flatMapIterable(l -> l);
    }

    /** Says that the lease on {@code storeKey} ended; the watches of it complete at once. */
    void hint(String storeKey) {
      hints.computeIfAbsent(storeKey, k -> Sinks.empty()).tryEmitEmpty();
      hints.remove(storeKey);
    }

    @Override
    public Mono<Void> leaseEnded(String key) {
      if (failing.equals("signals")) {
        return Mono.error(new IllegalStateException("pub/sub is down"));
      }
      if (failing.equals("throws")) {
        throw new IllegalStateException("a buggy store");
      }
      return hints.computeIfAbsent(key, k -> Sinks.empty()).asMono()
          .doOnSubscribe(s -> {
            watches.incrementAndGet();
            active.incrementAndGet();
          })
          .doFinally(signal -> active.decrementAndGet());
    }
  }

  /**
   * A waiter whose first backoff step is a minute of virtual time that never passes: only a hint
   * can make it look again.
   */
  private CacheAside<String, String> frozenWaiter(CacheStore hinting) {
    return instance().store(hinting).leaseTtl(Duration.ofMinutes(2))
        .leaseBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
        .leaseWait(Duration.ofMinutes(5)).build();
  }

  @Test
  void leaseEndHint_wakesTheWaiterAtOnce_withoutWaitingForItsBackoff() {
    HintingStore hinting = new HintingStore(store);
    CacheAside<String, String> holder = instance().store(hinting).build();
    CacheAside<String, String> waiting = frozenWaiter(hinting);
    Sinks.One<String> gate = Sinks.one();
    AtomicInteger waiterLoads = new AtomicInteger();
    StepVerifier held = StepVerifier.create(holder.cacheAside("k", key -> gate.asMono()))
        .expectNext("v").expectComplete().verifyLater();
    AtomicReference<String> answer = new AtomicReference<>();
    waiting.cacheAside("k", key -> {
      waiterLoads.incrementAndGet();
      return Mono.just("own");
    }).subscribe(answer::set);

    assertThat(hinting.watches).as("the waiter watches the lease").hasValue(1);
    gate.tryEmitValue("v");
    held.verify(Duration.ofSeconds(5));
    assertThat(answer.get()).as("stored, but no hint yet and no time passed").isNull();

    hinting.hint(key("k"));
    assertThat(answer.get()).as("answered on the hint, with the holder's value").isEqualTo("v");
    assertThat(waiterLoads).hasValue(0);
    assertThat(waiting.stats().leaseWaits()).isEqualTo(1);
    assertThat(waiting.stats().leaseWakeups()).isEqualTo(1);
    assertThat(hinting.active).as("no watch left").hasValue(0);
  }

  /** A holder whose lease outlives the virtual minutes the tests let pass. */
  private CacheAside<String, String> longLeaseHolder(CacheStore hinting) {
    return instance().store(hinting).leaseTtl(Duration.ofMinutes(10)).build();
  }

  /** Lets the frozen waiter's first step pass and holds the answer of the look that follows. */
  private Sinks.One<Boolean> holdTheSecondLook(HintingStore hinting) {
    Sinks.One<Boolean> lookHeld = Sinks.one();
    hinting.holdNextLookup = lookHeld;
    time.advanceTimeBy(Duration.ofMinutes(1));
    assertThat(hinting.holdNextLookup).as("the second look is on its way").isNull();
    return lookHeld;
  }

  /**
   * The race a watch started after the answer would lose: the waiter's second look finds the
   * lease still held, but before its answer arrives the holder stores and the end is announced.
   * Forced: the look is held until the announcement is made.
   */
  @Test
  void leaseEndAnnouncedWhileTheLookIsOnItsWay_isNotMissed() {
    HintingStore hinting = new HintingStore(store);
    CacheAside<String, String> holder = longLeaseHolder(hinting);
    CacheAside<String, String> waiting = frozenWaiter(hinting);
    Sinks.One<String> gate = Sinks.one();
    holder.cacheAside("k", key -> gate.asMono()).subscribe();
    AtomicReference<String> answer = new AtomicReference<>();
    waiting.cacheAside("k", key -> Mono.just("own")).subscribe(answer::set);

    Sinks.One<Boolean> lookHeld = holdTheSecondLook(hinting);
    gate.tryEmitValue("v");
    hinting.hint(key("k"));
    lookHeld.tryEmitValue(true);
    assertThat(answer.get()).as("its answer said 'held', but the watch had seen the end")
        .isEqualTo("v");
    assertThat(waiting.stats().leaseWakeups()).isEqualTo(1);
    assertThat(hinting.active).as("no watch left").hasValue(0);
  }

  @Test
  void leaseEndsAnnouncedWhileABulkLookIsOnItsWay_areNotMissed() {
    HintingStore hinting = new HintingStore(store);
    CacheAside<String, String> holder = longLeaseHolder(hinting);
    CacheAside<String, String> waiting = frozenWaiter(hinting);
    Sinks.One<String> gate = Sinks.one();
    holder.cacheAside("a", key -> gate.asMono().thenReturn("A")).subscribe();
    holder.cacheAside("b", key -> gate.asMono().thenReturn("B")).subscribe();
    AtomicReference<Map<String, String>> answer = new AtomicReference<>();
    waiting.cacheAsideAll(Flux.just("a", "b"), BulkLoader.fromFlux(keys -> Flux.fromIterable(keys)
            .map(key -> "own"), value -> value))
        .collectMap(BulkResult::key, BulkResult::value).subscribe(answer::set);

    Sinks.One<Boolean> lookHeld = holdTheSecondLook(hinting);
    gate.tryEmitValue("go");
    hinting.hint(key("a"));
    hinting.hint(key("b"));
    lookHeld.tryEmitValue(true);
    assertThat(answer.get()).isEqualTo(Map.of("a", "A", "b", "B"));
    assertThat(waiting.stats().leaseWakeups()).isEqualTo(1);
    assertThat(hinting.active).as("no watch left").hasValue(0);
  }

  /**
   * The waiter's look again is granted the lease (the holder gave it up without a word): the
   * watches end before the waiter's own load, which may take long, and through three waiting
   * steps there is never more than one.
   */
  @Test
  void waiterGrantedTheLeaseAfterWaiting_holdsNoWatchThroughItsLoad() {
    HintingStore hinting = new HintingStore(store);
    CacheAside<String, String> holder = longLeaseHolder(hinting);
    CacheAside<String, String> waiting = frozenWaiter(hinting);
    Sinks.One<String> holderGate = Sinks.one();
    holder.cacheAside("k", key -> holderGate.asMono()).subscribe(v -> { }, e -> { });
    Sinks.One<String> ownGate = Sinks.one();
    AtomicInteger ownLoads = new AtomicInteger();
    AtomicReference<String> answer = new AtomicReference<>();
    waiting.cacheAside("k", key -> {
      ownLoads.incrementAndGet();
      return ownGate.asMono();
    }).subscribe(answer::set);
    for (int step = 0; step < 2; step++) {
      time.advanceTimeBy(Duration.ofMinutes(1));
      assertThat(hinting.active).as("one watch at a time, step %d", step).hasValue(1);
    }
    // The holder fails and releases its lease; nobody announces it (a lost message).
    holderGate.tryEmitError(new IllegalStateException("db"));
    time.advanceTimeBy(Duration.ofMinutes(1));
    assertThat(ownLoads).as("the look again was granted the lease").hasValue(1);
    assertThat(hinting.active).as("no watch held through the waiter's load").hasValue(0);
    ownGate.tryEmitValue("own");
    assertThat(answer.get()).isEqualTo("own");
    assertThat(waiting.stats().leaseWakeups()).isZero();
  }

  @Test
  void bulkWaiterGrantedTheLeasesAfterWaiting_holdsNoWatchThroughItsLoad() {
    HintingStore hinting = new HintingStore(store);
    CacheAside<String, String> holder = longLeaseHolder(hinting);
    CacheAside<String, String> waiting = frozenWaiter(hinting);
    Sinks.One<String> holderGate = Sinks.one();
    holder.cacheAside("a", key -> holderGate.asMono()).subscribe(v -> { }, e -> { });
    holder.cacheAside("b", key -> holderGate.asMono()).subscribe(v -> { }, e -> { });
    Sinks.One<String> ownGate = Sinks.one();
    AtomicInteger ownLoads = new AtomicInteger();
    AtomicReference<Map<String, String>> answer = new AtomicReference<>();
    waiting.cacheAsideAll(Flux.just("a", "b"), BulkLoader.fromFlux(keys -> {
      ownLoads.incrementAndGet();
      return ownGate.asMono().thenMany(Flux.fromIterable(keys));
    }, value -> value)).collectMap(BulkResult::key, BulkResult::value).subscribe(answer::set);
    for (int step = 0; step < 2; step++) {
      time.advanceTimeBy(Duration.ofMinutes(1));
      assertThat(hinting.active).as("one watch per key at a time, step %d", step).hasValue(2);
    }
    holderGate.tryEmitError(new IllegalStateException("db"));
    time.advanceTimeBy(Duration.ofMinutes(1));
    assertThat(ownLoads).as("the look again was granted both leases").hasValue(1);
    assertThat(hinting.active).as("no watch held through the waiter's load").hasValue(0);
    ownGate.tryEmitValue("go");
    assertThat(answer.get()).isEqualTo(Map.of("a", "a", "b", "b"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"signals", "throws"})
  void leaseEndHintThatFails_isIgnored_theBackoffTimerStillAnswers(String failure) {
    HintingStore hinting = new HintingStore(store);
    hinting.failing = failure;
    CacheAside<String, String> holder = instance().store(hinting).build();
    CacheAside<String, String> waiting = instance().store(hinting)
        .leaseBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1))
        .leaseWait(Duration.ofMinutes(5)).build();
    Sinks.One<String> gate = Sinks.one();
    holder.cacheAside("k", key -> gate.asMono()).subscribe();
    AtomicReference<String> answer = new AtomicReference<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    waiting.cacheAside("k", key -> Mono.just("own")).subscribe(answer::set, error::set);
    gate.tryEmitValue("v");
    assertThat(answer.get()).isNull();
    assertThat(error.get()).as("a failing hint is not the caller's error").isNull();

    time.advanceTimeBy(Duration.ofSeconds(1));
    assertThat(answer.get()).as("the backoff step looked again").isEqualTo("v");
    assertThat(waiting.stats().leaseWakeups()).isZero();
  }

  @Test
  void leaseEndHints_inABulkRead_wakeTheWaiterWhenEveryContendedKeyEnded() {
    HintingStore hinting = new HintingStore(store);
    CacheAside<String, String> holder = instance().store(hinting).build();
    CacheAside<String, String> waiting = frozenWaiter(hinting);
    Sinks.One<String> gate = Sinks.one();
    holder.cacheAside("a", key -> gate.asMono().thenReturn("A")).subscribe();
    holder.cacheAside("b", key -> gate.asMono().thenReturn("B")).subscribe();
    AtomicInteger waiterLoads = new AtomicInteger();
    AtomicReference<Map<String, String>> answer = new AtomicReference<>();
    BulkLoader<String, String> ownLoad = BulkLoader.fromFlux(keys -> {
      waiterLoads.incrementAndGet();
      return Flux.fromIterable(keys);
    }, key -> key);
    waiting.cacheAsideAll(Flux.just("a", "b"), ownLoad)
        .collectMap(BulkResult::key, BulkResult::value).subscribe(answer::set);

    assertThat(hinting.watches).as("one watch per contended key").hasValue(2);
    gate.tryEmitValue("go");
    hinting.hint(key("a"));
    assertThat(answer.get()).as("one of two leases ended: not yet").isNull();
    hinting.hint(key("b"));
    assertThat(answer.get()).as("both ended: one look for both")
        .isEqualTo(Map.of("a", "A", "b", "B"));
    assertThat(waiterLoads).hasValue(0);
    assertThat(waiting.stats().leaseWakeups()).as("one step, cut short once").isEqualTo(1);
    assertThat(hinting.active).as("no watch left").hasValue(0);
  }
}
