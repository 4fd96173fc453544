package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.jackson.JacksonCodec;
import dev.cacheaside.resilience.ResilientCacheStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.cache.annotation.AnnotationCacheOperationSource;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.interceptor.CacheInterceptor;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Every reactive {@code @Cacheable} request is answered, through the whole bridge: the starter's
 * {@link CacheAsideInvocationInterceptor}, Spring's own {@link CacheInterceptor} (its reactive
 * {@code sync} path: {@code Mono.fromFuture(cache.retrieve(key, () -> method.toFuture()))}), the
 * {@link CacheView}'s {@code Mono} to {@code CompletableFuture} bridges, the engine and the store.
 *
 * <p>A proxy is built as the auto-configuration builds it (our interceptor outside Spring's), over
 * an in-memory store that holds or fails calls on command; each test forces one interleaving of
 * the suspects of a request once seen unanswered under overload (a cancel while the load is in
 * flight, a value at the instant of the load timeout, an empty or failed method, a store call
 * rejected on the caller's stack, an open breaker) and checks that every request that was not
 * cancelled gets a signal. Nothing sleeps: sinks release the method and the store, the clock is
 * virtual where a timeout is involved, and the bounds on {@code verify} only keep a failure from
 * hanging the build.
 */
class ReactiveCacheableSignalTest {
  private static final Duration BOUND = Duration.ofSeconds(10);

  private final VirtualTimeScheduler clock = VirtualTimeScheduler.create();
  private final HeldStore store = new HeldStore(InMemoryCacheStore.create());
  private final Products target = new Products();

  @AfterEach
  void stopClock() {
    clock.dispose();
  }

  @Test
  void callerCancelsWhileTheLoadIsInFlight_theJoinerIsAnswered_andTheMethodRanOnce() {
    Products products = proxy(store);
    Sinks.One<String> row = target.next(1L);
    Disposable first = products.product(1L).subscribe();
    StepVerifier second = StepVerifier.create(products.product(1L))
        .expectNext("kettle").expectComplete().verifyLater();

    first.dispose();
    row.tryEmitValue("kettle");

    second.verify(BOUND);
    assertThat(target.calls(1L)).isEqualTo(1);
  }

  @Test
  void onlyCallerCancelsWhileTheLoadIsInFlight_theNextRequestIsAnswered() {
    Products products = proxy(store);
    Sinks.One<String> row = target.next(2L);
    Disposable only = products.product(2L).subscribe();

    only.dispose();
    row.tryEmitValue("kettle");

    StepVerifier.create(products.product(2L)).expectNext("kettle").expectComplete().verify(BOUND);
  }

  @Test
  void storeHeldAfterTheLoad_oneCallerCancels_theOtherIsAnsweredWhenTheStoreAnswers() {
    Products products = proxy(store);
    Sinks.One<String> row = target.next(3L);
    Sinks.Empty<Void> stored = store.hold(ForwardingCacheStore.Operation.SET_IF_LEASED);
    Disposable first = products.product(3L).subscribe();
    StepVerifier second = StepVerifier.create(products.product(3L))
        .expectNext("kettle").expectComplete().verifyLater();

    row.tryEmitValue("kettle");
    first.dispose();
    stored.tryEmitEmpty();

    second.verify(BOUND);
  }

  @Test
  void emptyMethodResult_answersEmpty_andIsCachedAsNotFound() {
    Products products = proxy(store);
    Sinks.One<String> row = target.next(4L);
    StepVerifier first = StepVerifier.create(products.product(4L)).expectComplete().verifyLater();
    StepVerifier joiner = StepVerifier.create(products.product(4L)).expectComplete().verifyLater();

    row.tryEmitEmpty(); // Spring's toFuture() completes with null

    first.verify(BOUND);
    joiner.verify(BOUND);
    StepVerifier.create(products.product(4L)).expectComplete().verify(BOUND);
    assertThat(target.calls(4L)).isEqualTo(1);
  }

  @Test
  void methodFails_theCallerAndItsJoinerGetTheError() {
    Products products = proxy(store);
    Sinks.One<String> row = target.next(5L);
    StepVerifier first = StepVerifier.create(products.product(5L))
        .expectErrorMessage("database away").verifyLater();
    StepVerifier joiner = StepVerifier.create(products.product(5L))
        .expectErrorMessage("database away").verifyLater();

    row.tryEmitError(new IllegalStateException("database away"));

    first.verify(BOUND);
    joiner.verify(BOUND);
  }

  @Test
  void methodThrowsInsteadOfReturning_theCallerGetsThatException() {
    Products products = proxy(store);

    // Thrown inside Spring's loader, called from the engine's load: Spring's interceptor wraps
    // it, and the caller must still get the method's own exception.
    StepVerifier.create(products.product(-1L))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("no negative ids"))
        .verify(BOUND);
  }

  @Test
  void valueAtTheInstantOfTheLoadTimeout_everyCallerIsAnswered() {
    Products products = proxy(store);
    target.answer(6L, Mono.just("kettle").delayElement(LOAD_TIMEOUT, clock));
    StepVerifier first = answeredSomehow(products.product(6L));
    StepVerifier joiner = answeredSomehow(products.product(6L));

    clock.advanceTimeBy(LOAD_TIMEOUT); // the value and the timeout are due at the same tick

    first.verify(BOUND);
    joiner.verify(BOUND);
  }

  @Test
  void loadNeverAnswers_theLoadTimeoutAnswersEveryCaller() {
    Products products = proxy(store);
    target.next(7L); // never emitted
    StepVerifier first = timedOut(products.product(7L));
    StepVerifier joiner = timedOut(products.product(7L));

    clock.advanceTimeBy(LOAD_TIMEOUT);

    first.verify(BOUND);
    joiner.verify(BOUND);
  }

  @Test
  void storeCallsRejectedOnTheCallersStack_theMethodAnswers() {
    Products products = proxy(store);
    store.rejectAll();
    target.answer(8L, Mono.just("kettle"));

    StepVerifier.create(products.product(8L)).expectNext("kettle").expectComplete().verify(BOUND);
  }

  @Test
  void breakerOpen_everyStoreCallRefused_everyCallerIsAnswered() {
    ResilientCacheStore resilient = ResilientCacheStore.wrap(store);
    resilient.circuitBreaker().transitionToForcedOpenState();
    Products products = proxy(resilient);
    Sinks.One<String> row = target.next(9L);
    StepVerifier first = StepVerifier.create(products.product(9L))
        .expectNext("kettle").expectComplete().verifyLater();
    StepVerifier joiner = StepVerifier.create(products.product(9L))
        .expectNext("kettle").expectComplete().verifyLater();

    row.tryEmitValue("kettle");

    first.verify(BOUND);
    joiner.verify(BOUND);
    resilient.close();
  }

  @Test
  void fluxCallerCancelsWhileTheLoadIsInFlight_theJoinerGetsTheList() {
    Products products = proxy(store);
    Sinks.Many<String> rows = Sinks.many().unicast().onBackpressureBuffer();
    target.rows(10L, rows.asFlux());
    Disposable first = products.cheaperThan(10L).subscribe();
    StepVerifier second = StepVerifier.create(products.cheaperThan(10L))
        .expectNext("kettle", "toaster").expectComplete().verifyLater();

    first.dispose();
    rows.tryEmitNext("kettle");
    rows.tryEmitNext("toaster");
    rows.tryEmitComplete();

    second.verify(BOUND);
  }

  @Test
  void requestSubscribedTwice_readsThroughTheCacheBothTimes() {
    Products products = proxy(store);
    target.answer(11L, Mono.just("kettle"));
    Mono<String> request = products.product(11L);

    StepVerifier.create(request).expectNext("kettle").expectComplete().verify(BOUND);
    StepVerifier.create(request).expectNext("kettle").expectComplete().verify(BOUND);

    assertThat(target.calls(11L)).isEqualTo(1);
  }

  /** Subscribed now; passes on any end, value or error. */
  private static StepVerifier answeredSomehow(Mono<String> request) {
    return StepVerifier.create(request.onErrorResume(e -> Mono.empty()))
        .thenConsumeWhile(v -> true).expectComplete().verifyLater();
  }

  /** Subscribed now; passes on the load timeout's error. */
  private static StepVerifier timedOut(Mono<String> request) {
    return StepVerifier.create(request)
        .expectError(TimeoutException.class).verifyLater();
  }

  // ---- the set-up: the proxy as the auto-configuration makes it ----

  private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(2);

  private Products proxy(CacheStore cacheStore) {
    CacheAsideFactory factory = new CacheAsideFactory(cacheStore, JacksonCodec.defaultMapper(),
        new CacheAsideProperties.CacheSpec(), Map.of(),
        List.of((name, builder) -> builder.scheduler(clock).loadTimeout(LOAD_TIMEOUT)));
    CacheAsideCacheManager manager = new CacheAsideCacheManager(factory,
        SpringCacheKeyFormat.standard(), JacksonCodec.defaultMapper(), List.of(), true);
    CacheInterceptor cacheInterceptor = new CacheInterceptor();
    cacheInterceptor.setCacheOperationSource(new AnnotationCacheOperationSource());
    cacheInterceptor.setCacheResolver(new CacheAsideCacheResolver(manager));
    cacheInterceptor.afterPropertiesSet();
    cacheInterceptor.afterSingletonsInstantiated();
    ProxyFactory proxies = new ProxyFactory(target);
    proxies.setProxyTargetClass(true);
    proxies.addAdvice(new CacheAsideInvocationInterceptor());
    proxies.addAdvice(cacheInterceptor);
    return (Products) proxies.getProxy();
  }

  /**
   * The cached methods; {@code sync = true} written out, as {@link CacheOperationRewriter} makes
   * it. Each id answers what the test set for it, and its calls are counted.
   */
  public static class Products {
    private final Map<Long, Mono<String>> answers = new ConcurrentHashMap<>();
    private final Map<Long, Flux<String>> lists = new ConcurrentHashMap<>();
    private final Map<Long, AtomicInteger> calls = new ConcurrentHashMap<>();

    Sinks.One<String> next(long id) {
      Sinks.One<String> sink = Sinks.one();
      answer(id, sink.asMono());
      return sink;
    }

    void answer(long id, Mono<String> answer) {
      answers.put(id, answer);
    }

    void rows(long id, Flux<String> rows) {
      lists.put(id, rows);
    }

    int calls(long id) {
      return calls.computeIfAbsent(id, k -> new AtomicInteger()).get();
    }

    @Cacheable(cacheNames = "products", sync = true)
    public Mono<String> product(long id) {
      if (id < 0) {
        throw new IllegalArgumentException("no negative ids");
      }
      calls.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
      return answers.getOrDefault(id, Mono.empty());
    }

    @Cacheable(cacheNames = "cheaper-than", sync = true)
    public Flux<String> cheaperThan(long price) {
      return lists.getOrDefault(price, Flux.empty());
    }
  }

  /** A store whose calls of one kind wait for a sink, or all of which fail when they are made. */
  static final class HeldStore extends ForwardingCacheStore {
    private final Map<Operation, Sinks.Empty<Void>> held = new ConcurrentHashMap<>();
    private volatile boolean rejectAll;

    HeldStore(CacheStore delegate) {
      super(delegate);
    }

    Sinks.Empty<Void> hold(Operation operation) {
      return held.computeIfAbsent(operation, o -> Sinks.empty());
    }

    /** Every call from now on throws on the caller's stack, as a rejected command does. */
    void rejectAll() {
      rejectAll = true;
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      if (rejectAll) {
        throw new IllegalStateException("rejected: " + operation);
      }
      Sinks.Empty<Void> gate = held.get(operation);
      return gate == null ? call : gate.asMono().then(call);
    }

    @Override
    protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
      if (rejectAll) {
        throw new IllegalStateException("rejected: " + operation);
      }
      return call;
    }
  }
}
