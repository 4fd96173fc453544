package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.util.RaceTestUtils;
import reactor.util.context.Context;

/**
 * The hit path's own operator ({@link ReadFlight}): the {@code cache()}-like contract it replaces
 * (one read for all subscribers, replay to late ones, demand, cancel detaches only, context of
 * the first subscriber, errors to all) and the flight leaving the map before anyone hears of it.
 */
class ReadFlightTest {
  private final InMemoryCacheStore memory = InMemoryCacheStore.builder().build();
  private final GatedStore store = new GatedStore(memory);
  private final CacheAside<String, String> cache =
      CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8()).build();

  /** A store whose {@code get}s wait on a gate the test opens, and which records what it saw. */
  static final class GatedStore extends ForwardingCacheStore {
    final AtomicInteger gets = new AtomicInteger();
    final AtomicInteger cancels = new AtomicInteger();
    final List<Context> contexts = new CopyOnWriteArrayList<>();
    volatile Sinks.Empty<Void> gate = Sinks.empty();
    volatile boolean gated;
    volatile RuntimeException throwOnGet;

    GatedStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public Mono<byte[]> get(String key) {
      RuntimeException thrown = throwOnGet;
      if (thrown != null) {
        throw thrown;
      }
      Mono<byte[]> read = Mono.deferContextual(ctx -> {
        gets.incrementAndGet();
        contexts.add(Context.of(ctx));
        return super.get(key);
      });
      return (gated ? gate.asMono().then(read) : read).doOnCancel(cancels::incrementAndGet);
    }
  }

  private Mono<String> read(String key) {
    return cache.cacheAside(key, k -> Mono.just("loaded-" + k));
  }

  private void warm(String key) {
    StepVerifier.create(read(key)).expectNext("loaded-" + key).verifyComplete();
    store.gets.set(0);
    store.contexts.clear();
  }

  @Test
  void hit_waitsForDemand_thenEmitsOnce() {
    warm("a");
    StepVerifier.create(read("a"), 0)
        .expectSubscription()
        .thenRequest(1)
        .expectNext("loaded-a")
        .verifyComplete();
    assertThat(cache.stats().hits()).isEqualTo(1);
  }

  @Test
  void concurrentCallers_shareOneGet_andOneCancelLeavesTheReadToTheOthers() {
    warm("a");
    store.gated = true;
    StepVerifier first = StepVerifier.create(read("a")).expectNext("loaded-a").expectComplete()
        .verifyLater();
    List<String> seen = new CopyOnWriteArrayList<>();
    read("a").subscribe(seen::add);
    var cancelled = read("a").subscribe(v -> seen.add("cancelled caller got " + v));
    cancelled.dispose();
    assertThat((int) cache.stats().readsInFlight()).isEqualTo(1);

    store.gate.tryEmitEmpty();
    first.verify(Duration.ofSeconds(5));
    assertThat(seen).containsExactly("loaded-a");
    assertThat(store.gets).as("store reads").hasValue(1);
    assertThat(store.cancels).as("the read is never cancelled by a caller").hasValue(0);
    assertThat((int) cache.stats().readsInFlight()).isZero();
    assertThat(cache.stats().hits()).isEqualTo(2);
    assertThat(cache.stats().coalesced()).isEqualTo(2);
  }

  @Test
  void allCallersCancel_withAbandonedReadsFinish_theReadStillEndsAndLeavesTheMap() {
    CacheAside<String, String> cache = CacheAside.<String, String>builder("t").store(store)
        .codec(Codec.utf8()).abandonedReads(AbandonedReads.FINISH).build();
    warm("a");
    store.gated = true;
    cache.cacheAside("a", k -> Mono.just("loaded-" + k)).subscribe().dispose();
    cache.cacheAside("a", k -> Mono.just("loaded-" + k)).subscribe().dispose();
    assertThat((int) cache.stats().readsInFlight()).isEqualTo(1);
    store.gate.tryEmitEmpty();
    assertThat(store.cancels).hasValue(0);
    assertThat(store.gets).hasValue(1);
    assertThat((int) cache.stats().readsInFlight()).isZero();
  }

  @Test
  void allCallersCancel_byDefault_theStoreReadIsCancelledAndTheFlightLeavesTheMapAtOnce() {
    warm("a");
    store.gated = true;
    Disposable first = read("a").subscribe();
    Disposable second = read("a").subscribe();
    assertThat((int) cache.stats().readsInFlight()).isEqualTo(1);
    first.dispose();
    assertThat(store.cancels).as("one caller left, the read goes on").hasValue(0);
    second.dispose();
    assertThat(store.cancels).as("the last caller left").hasValue(1);
    assertThat((int) cache.stats().readsInFlight()).isZero();
    store.gated = false;
    StepVerifier.create(read("a")).as("a later caller reads afresh").expectNext("loaded-a")
        .verifyComplete();
  }

  @Test
  void subscriberAfterTheFlightWasAbandoned_readsAfresh() {
    warm("a");
    store.gated = true;
    AtomicInteger restarts = new AtomicInteger();
    Mono<Outcome<String>> flight = new ReadFlight<>(env(store),
        new Read<>("a", cache.storeKey("a").block(),
            k -> Mono.error(new AssertionError("no load expected"))),
        new FreshOnly(), () -> { }, () -> {
          restarts.incrementAndGet();
          return Mono.just(Outcome.hit("fresh read"));
        });
    flight.subscribe().dispose();
    assertThat(store.cancels).hasValue(1);
    StepVerifier.create(flight).expectNextMatches(o -> "fresh read".equals(o.value()))
        .verifyComplete();
    assertThat(restarts).hasValue(1);
  }

  @Test
  void subscriberAfterTheEnd_getsTheOutcomeWithoutAnotherRead() {
    warm("a");
    Mono<Outcome<String>> flight = new ReadFlight<>(env(store),
        new Read<>("a", cache.storeKey("a").block(),
            k -> Mono.error(new AssertionError("no load expected"))),
        new FreshOnly(), () -> { }, null);
    StepVerifier.create(flight).expectNextMatches(o -> "loaded-a".equals(o.value()))
        .verifyComplete();
    StepVerifier.create(flight).expectNextMatches(o -> o.kind() == Outcome.Kind.HIT)
        .verifyComplete();
    assertThat(store.gets).hasValue(1);
  }

  @Test
  void aSubscriberThatThrowsInOnNext_doesNotKeepTheOutcomeFromTheOthers() {
    warm("a");
    store.gated = true;
    AtomicInteger badCalls = new AtomicInteger();
    read("a").subscribe(new CoreSubscriber<String>() {
      @Override
      public void onSubscribe(Subscription s) {
        s.request(1);
      }

      @Override
      public void onNext(String value) {
        badCalls.incrementAndGet();
        throw new IllegalStateException("a subscriber breaking the rules");
      }

      @Override
      public void onError(Throwable e) {}

      @Override
      public void onComplete() {}
    });
    List<String> good = new CopyOnWriteArrayList<>();
    read("a").subscribe(good::add);
    store.gate.tryEmitEmpty();
    assertThat(badCalls).hasValue(1);
    assertThat(good).containsExactly("loaded-a");
    assertThat((int) cache.stats().readsInFlight()).isZero();
  }

  @Test
  void theFlightLeavesTheMapBeforeItsOutcomeIsDelivered() {
    warm("a");
    AtomicReference<Integer> inflightWhenDelivered = new AtomicReference<>();
    StepVerifier.create(read("a").doOnNext(v -> inflightWhenDelivered.set((int) cache.stats().readsInFlight())))
        .expectNext("loaded-a").verifyComplete();
    assertThat(inflightWhenDelivered).hasValue(0);
  }

  @Test
  void theReadRunsInTheFirstSubscribersContext() {
    warm("a");
    StepVerifier.create(read("a").contextWrite(Context.of("tenant", "blue")))
        .expectNext("loaded-a").verifyComplete();
    assertThat(store.contexts).singleElement()
        .satisfies(ctx -> assertThat(ctx.<String>get("tenant")).isEqualTo("blue"));
  }

  @ParameterizedTest(name = "shareReads={0}")
  @ValueSource(booleans = {true, false})
  void aStoreThatThrowsInsteadOfSignalling_failsTheCallers_andLeavesNothingInFlight(
      boolean shareReads) {
    CacheAside<String, String> c = CacheAside
        .<String, String>builder("t").store(store).codec(Codec.utf8()).shareReads(shareReads)
        .build();
    store.throwOnGet = new IllegalArgumentException("key refused by the store");
    StepVerifier.create(c.cacheAside("a", k -> Mono.just("v")))
        .expectErrorMessage("key refused by the store")
        .verify();
    assertThat((int) c.stats().readsInFlight()).isZero();
  }

  @ParameterizedTest(name = "shareReads={0}")
  @ValueSource(booleans = {true, false})
  void aLoaderErrorOnTheSlowPath_reachesEveryCaller(boolean shareReads) {
    CacheAside<String, String> c = CacheAside
        .<String, String>builder("t").store(store).codec(Codec.utf8()).shareReads(shareReads)
        .build();
    Sinks.One<String> gate = Sinks.one();
    AtomicInteger loads = new AtomicInteger();
    Mono<String> call = c.cacheAside("cold", k -> {
      loads.incrementAndGet();
      return gate.asMono();
    });
    StepVerifier first = StepVerifier.create(call).expectErrorMessage("database down")
        .verifyLater();
    StepVerifier second = StepVerifier.create(call).expectErrorMessage("database down")
        .verifyLater();
    gate.tryEmitError(new IllegalStateException("database down"));
    first.verify(Duration.ofSeconds(5));
    second.verify(Duration.ofSeconds(5));
    assertThat(loads).hasValue(1);
    assertThat((int) c.stats().readsInFlight()).isZero();
  }

  @Test
  void subscribeRacingTheEnd_everyCallerIsAnsweredExactlyOnce() {
    warm("a");
    for (int round = 0; round < 500; round++) {
      store.gated = true;
      store.gate = Sinks.empty();
      AtomicInteger answers = new AtomicInteger();
      AtomicInteger completions = new AtomicInteger();
      Mono<String> call = read("a").doOnNext(v -> answers.incrementAndGet())
          .doOnSuccess(v -> completions.incrementAndGet());
      call.subscribe();
      Sinks.Empty<Void> gate = store.gate;
      RaceTestUtils.race(Schedulers.boundedElastic(), gate::tryEmitEmpty, call::subscribe,
          call::subscribe);
      assertThat(answers).as("round %d", round).hasValue(3);
      assertThat(completions).as("round %d", round).hasValue(3);
    }
    assertThat((int) cache.stats().readsInFlight()).isZero();
  }

  /** A path for a flight that is only ever given a fresh entry: decodes it as UTF-8. */
  static final class FreshOnly implements ReadFlight.Path<String, String> {
    @Override
    public Entries.Decoded<String> decode(Read<String, String> read, byte[] bytes) {
      Envelope envelope = Envelope.decode(bytes);
      return new Entries.Decoded<>(Entries.Decoded.State.FRESH,
          new String(envelope.payload(), java.nio.charset.StandardCharsets.UTF_8), envelope);
    }

    @Override
    public Outcome<String> fresh(Read<String, String> read, Entries.Decoded<String> decoded) {
      return decoded.outcome();
    }

    @Override
    public Mono<Outcome<String>> miss(Read<String, String> read, Throwable storeError) {
      return Mono.error(new AssertionError("no miss expected"));
    }

    @Override
    public Mono<Outcome<String>> notFresh(Read<String, String> read,
        Entries.Decoded<String> decoded) {
      return Mono.error(new AssertionError("no stale entry expected"));
    }
  }

  /** What a flight built by hand shares: the store, a real scheduler, a store timer of 1 s. */
  static ReadFlight.Env env(CacheStore store) {
    Flights<String> flights = new Flights<>(new StatsCounter());
    Duration timeout = Duration.ofSeconds(1);
    return new ReadFlight.Env(store, Schedulers.parallel(),
        new StoreDeadline(timeout, Schedulers.parallel(), flights::waiting), flights, timeout);
  }
}
