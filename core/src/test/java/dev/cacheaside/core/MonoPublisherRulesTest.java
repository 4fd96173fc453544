package dev.cacheaside.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The Reactive Streams rules that the TCK ({@link ReadFlightTckTest}, {@link CacheAsideCallTckTest})
 * skips for a publisher of at most one element, because its tests of them ask for 3 to 10
 * elements: 3.2/3.3 (request from onSubscribe and onNext, no unbounded recursion), 3.6 (request
 * after cancel is a no-op), 3.7 (cancel twice), 3.9 (bad requests: see its test), 3.12 (cancel
 * stops signals), 3.17 (demand up to and past Long.MAX_VALUE), and 1.1 (no value without demand),
 * checked here with one element on each hand-written publisher, on its fast path and on its slow
 * path. The value is held by a gate until the test opens it, so "before the value"
 * is a fact, not a race; the in-memory store answers on the opening thread, so every signal the
 * opening causes has arrived when {@code tryEmitEmpty} returns.
 */
class MonoPublisherRulesTest {

  /** A publisher of one value, "v", that is produced only once the gate completes. */
  @FunctionalInterface
  interface Source extends Function<Mono<Void>, Publisher<?>> {}

  /** Records every signal, as text, and can act in onSubscribe and onNext. */
  private static final class Recorder implements CoreSubscriber<Object> {
    final List<String> signals = new CopyOnWriteArrayList<>();
    private final Consumer<Subscription> onSubscribe;
    private final Consumer<Subscription> onNext;
    @Nullable Subscription subscription;

    Recorder(Consumer<Subscription> onSubscribe, Consumer<Subscription> onNext) {
      this.onSubscribe = onSubscribe;
      this.onNext = onNext;
    }

    @Override
    public void onSubscribe(Subscription s) {
      subscription = s;
      signals.add("onSubscribe");
      onSubscribe.accept(s);
    }

    @Override
    public void onNext(Object value) {
      signals.add("onNext " + text(value));
      onNext.accept(subscription);
    }

    @Override
    public void onError(Throwable e) {
      signals.add("onError " + e.getClass().getSimpleName());
    }

    @Override
    public void onComplete() {
      signals.add("onComplete");
    }

    private static String text(Object value) {
      return value instanceof Outcome<?> o ? String.valueOf(o.value()) : String.valueOf(value);
    }
  }

  /** A store whose {@code get}s answer once the gate completes. */
  private static final class GatedStore extends ForwardingCacheStore {
    private final Mono<Void> gate;

    GatedStore(CacheStore delegate, Mono<Void> gate) {
      super(delegate);
      this.gate = gate;
    }

    @Override
    public Mono<byte[]> get(String key) {
      return gate.then(super.get(key));
    }
  }

  private static Read<String, String> read() {
    return new Read<>("k", "k", k -> Mono.error(new AssertionError("the path answers misses")));
  }

  private static InMemoryCacheStore storeWithValue() {
    InMemoryCacheStore store = InMemoryCacheStore.create();
    store.set("k", "v".getBytes(UTF_8), Duration.ofMinutes(5)).block();
    return store;
  }

  private static CacheAside<String, String> cache(CacheStore store) {
    return CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8()).build();
  }

  static Stream<Arguments> sources() {
    Source flightHit = gate -> new ReadFlight<>(
        ReadFlightTest.env(new GatedStore(storeWithValue(), gate)), read(),
        new Utf8Path(Mono.empty()), () -> { }, null);
    Source flightSlowPath = gate -> new ReadFlight<>(
        ReadFlightTest.env(InMemoryCacheStore.create()), read(),
        new Utf8Path(gate.then(Mono.just(Outcome.loaded("v")))), () -> { }, null);
    Source callLoad = gate -> cache(InMemoryCacheStore.create())
        .cacheAside("k", k -> gate.then(Mono.just("v")));
    Source callHit = gate -> {
      InMemoryCacheStore memory = InMemoryCacheStore.create();
      cache(memory).cacheAside("k", k -> Mono.just("v")).block();
      return cache(new GatedStore(memory, gate)).cacheAside("k", k -> Mono.just("loaded again"));
    };
    return Stream.of(
        Arguments.of("ReadFlight, fresh hit", flightHit),
        Arguments.of("ReadFlight, slow path", flightSlowPath),
        Arguments.of("CacheAsideCall, load", callLoad),
        Arguments.of("CacheAsideCall, hit", callHit));
  }

  private static final Consumer<Subscription> NOTHING = s -> { };

  @ParameterizedTest(name = "{0}")
  @MethodSource("sources")
  void rule302and303_requestFromOnSubscribeAndOnNext_oneValueThenComplete(String name,
      Source source) {
    Sinks.Empty<Void> gate = Sinks.empty();
    Recorder recorder = new Recorder(s -> s.request(1), s -> s.request(1));
    source.apply(gate.asMono()).subscribe(recorder);
    gate.tryEmitEmpty();
    assertThat(recorder.signals).containsExactly("onSubscribe", "onNext v", "onComplete");
  }

  /**
   * Subscribes {@code tested}, then another subscriber that asks for the value; runs
   * {@code beforeTheValue} on {@code tested}, opens the gate, and returns the other's signals.
   */
  private static List<String> besideAnother(Source source, Recorder tested,
      Consumer<Recorder> beforeTheValue) {
    Sinks.Empty<Void> gate = Sinks.empty();
    Publisher<?> publisher = source.apply(gate.asMono());
    Recorder other = new Recorder(s -> s.request(1), NOTHING);
    publisher.subscribe(tested);
    publisher.subscribe(other);
    beforeTheValue.accept(tested);
    gate.tryEmitEmpty();
    return other.signals;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("sources")
  void rule306_requestAfterCancel_isANoOp(String name, Source source) {
    Recorder cancelled = new Recorder(s -> {
      s.cancel();
      s.request(1);
    }, NOTHING);
    List<String> other = besideAnother(source, cancelled, r -> { });
    assertThat(cancelled.signals).containsExactly("onSubscribe");
    assertThat(other).as("a subscriber that did not cancel")
        .containsExactly("onSubscribe", "onNext v", "onComplete");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("sources")
  void rule312_cancelWithDemandBeforeTheValue_noFurtherSignal(String name, Source source) {
    Recorder cancelled = new Recorder(s -> s.request(1), NOTHING);
    List<String> other = besideAnother(source, cancelled, r -> {
      r.subscription.cancel();
      r.subscription.cancel(); // 3.7: a second cancel is a no-op too
    });
    assertThat(cancelled.signals).containsExactly("onSubscribe");
    assertThat(other).as("a subscriber that did not cancel")
        .containsExactly("onSubscribe", "onNext v", "onComplete");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("sources")
  void rule317_demandAddingUpPastLongMaxValue_oneValueThenComplete_noError(String name,
      Source source) {
    Sinks.Empty<Void> gate = Sinks.empty();
    Recorder recorder = new Recorder(s -> {
      s.request(Long.MAX_VALUE);
      s.request(Long.MAX_VALUE);
      s.request(1);
    }, s -> s.request(Long.MAX_VALUE));
    source.apply(gate.asMono()).subscribe(recorder);
    gate.tryEmitEmpty();
    assertThat(recorder.signals).containsExactly("onSubscribe", "onNext v", "onComplete");
  }

  /**
   * Rule 3.9 wants {@code onError(IllegalArgumentException)} for a request of 0 or less. Reactor's
   * operators do not: {@code Operators.validate} logs the bad request (at debug) and ignores it,
   * and these publishers, built on {@code Operators.MonoSubscriber}, do the same, so a chain of
   * ours and Reactor's answers a bad request one way. This pins that behaviour (and Reactor's own,
   * next to it): nothing is signalled, and a valid request later still gets the value.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("sources")
  void rule309_requestOfZeroOrLess_isIgnoredAsByReactorsOwnOperators(String name,
      Source source) {
    for (Source publisher : List.of(source, (Source) gate -> gate.then(Mono.just("v")).cache())) {
      Sinks.Empty<Void> gate = Sinks.empty();
      Recorder recorder = new Recorder(s -> {
        s.request(0);
        s.request(-1);
      }, NOTHING);
      publisher.apply(gate.asMono()).subscribe(recorder);
      gate.tryEmitEmpty();
      assertThat(recorder.signals).as("after request(0) and request(-1)")
          .containsExactly("onSubscribe");
      recorder.subscription.request(1);
      assertThat(recorder.signals).containsExactly("onSubscribe", "onNext v", "onComplete");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("sources")
  void noDemand_noValue_thenTheValueOnRequest(String name, Source source) {
    Sinks.Empty<Void> gate = Sinks.empty();
    Recorder recorder = new Recorder(NOTHING, NOTHING);
    source.apply(gate.asMono()).subscribe(recorder);
    gate.tryEmitEmpty();
    assertThat(recorder.signals).as("1.1: no onNext without demand").containsExactly("onSubscribe");
    recorder.subscription.request(1);
    assertThat(recorder.signals).containsExactly("onSubscribe", "onNext v", "onComplete");
  }
}
