package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreState;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowSynchronizationStrategy;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.core.testkit.FaultyStore;

/**
 * BlockHound is installed in this JVM (blockhound-junit-platform); the resilience paths (time
 * limit, breaker open and half-open, queueing, replay, generation bump, bulkhead waits,
 * stale-if-error) run on Reactor's non-blocking threads without blocking.
 */
class NonBlockingTest {

  /**
   * Records every error a store call signals: the core turns store errors into misses, so a
   * blocking call inside the decorator would otherwise pass unnoticed.
   */
  private static final class ErrorRecorder extends ForwardingCacheStore {
    final List<Throwable> errors = new CopyOnWriteArrayList<>();

    ErrorRecorder(CacheStore delegate) {
      super(delegate);
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      return call.doOnError(errors::add);
    }

    @Override
    protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
      return call.doOnError(errors::add);
    }
  }

  private static boolean blocking(Throwable e) {
    return e instanceof BlockingOperationError || e.getCause() instanceof BlockingOperationError;
  }

  @Test
  void blockHound_isInstalled_andCatchesASleepOnAParallelThread() {
    StepVerifier.create(Mono.fromCallable(() -> {
      Thread.sleep(1);
      return 1;
    }).subscribeOn(Schedulers.parallel()))
        .expectError(BlockingOperationError.class)
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void outagesAndRecoveries_onParallelThreads_neverBlock() {
    FaultyStore faulty = new FaultyStore(InMemoryCacheStore.create());
    ResilientCacheStore resilient = ResilientCacheStore.builder(faulty)
        .timeLimit(Duration.ofMillis(20))
        // A window of the last 20 calls (the default is two seconds): each phase lasts a few
        // hundred calls, and the down phase must open the breaker for the test to exercise it.
        .circuitBreakerConfig(CircuitBreakerConfig.from(
                ResilientCacheStore.DEFAULT_CIRCUIT_BREAKER_CONFIG)
            .slidingWindow(20, 10, SlidingWindowType.COUNT_BASED,
                SlidingWindowSynchronizationStrategy.LOCK_FREE)
            .waitDurationInOpenState(Duration.ofMillis(30)).build())
        .maxPendingInvalidations(20)
        .replayRetryInterval(Duration.ofMillis(10))
        .generationSettle(Duration.ofMillis(100))
        .build();
    ErrorRecorder recorder = new ErrorRecorder(resilient);
    LoadBulkhead bulkhead = LoadBulkhead.of("db", 4, Duration.ofSeconds(5));
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("nb")
        .store(recorder).codec(Codec.utf8()).loadDecorator(bulkhead)
        .ttl(Duration.ofMillis(100)).staleGrace(Duration.ofSeconds(5))
        .generationRefresh(Duration.ofMillis(20)).build();
    Map<Integer, String> db = new ConcurrentHashMap<>();
    FaultyStore.Mode[] phases = {FaultyStore.Mode.UP, FaultyStore.Mode.DOWN,
        FaultyStore.Mode.UP, FaultyStore.Mode.FROZEN, FaultyStore.Mode.UP};
    // Anything thrown inside an operator passes this hook, also on paths no caller sees (the
    // replay retries its failures).
    List<Throwable> operatorErrors = new CopyOnWriteArrayList<>();
    Hooks.onOperatorError("non-blocking-test", (e, data) -> {
      operatorErrors.add(e);
      return e;
    });
    IntFunction<Mono<String>> operation = i -> {
      int key = i % 60;
      Mono<String> read = cache.cacheAside(key, k -> Mono.fromSupplier(
          () -> db.computeIfAbsent(k, x -> "v" + x)).subscribeOn(Schedulers.parallel()));
      Mono<String> op = i % 11 == 0
          ? cache.writeThenInvalidate(key, Mono.fromSupplier(() -> {
            db.put(key, "w" + key);
            return "w";
          }))
          // An invalidation sent to the frozen store before the breaker opened waits for it
          // until the core gives up (its store timeout): it fails, and is owed for replay.
          : i % 13 == 0 ? cache.invalidate(key).onErrorResume(e -> Mono.empty()).then(read)
          : read;
      return op.subscribeOn(Schedulers.parallel());
    };
    try {
      // Each phase runs rounds of 250 operations, 64 at a time, until it has done what it is
      // there for (down: the breaker opened; frozen: a call was cut off; up: the store is UP
      // again), at most 40 rounds: on a loaded machine a fixed count of operations may end a
      // phase before its work was done (seen on a CI-like run of two builds at once).
      int next = 0;
      for (FaultyStore.Mode phase : phases) {
        faulty.mode = phase;
        long skipped = resilient.stats().skippedCalls();
        long timeouts = resilient.stats().timeouts();
        BooleanSupplier done = switch (phase) {
          case DOWN -> () -> resilient.stats().skippedCalls() > skipped;
          case FROZEN -> () -> resilient.stats().timeouts() > timeouts;
          case UP -> () -> resilient.state() == StoreState.UP;
        };
        int rounds = 0;
        do {
          StepVerifier.create(Flux.range(next, 250).flatMap(operation::apply, 64).then())
              .expectComplete().verify(Duration.ofSeconds(60));
          next += 250;
        } while (!done.getAsBoolean() && ++rounds < 40);
      }
      faulty.mode = FaultyStore.Mode.UP;
      Poll.until("recovery", Duration.ofSeconds(20), () -> {
        cache.cacheAside(0, k -> Mono.just("x")).subscribeOn(Schedulers.parallel())
            .block(Duration.ofSeconds(5));
        return resilient.recovered();
      });
    } finally {
      Hooks.resetOnOperatorError("non-blocking-test");
      resilient.close();
    }

    assertThat(recorder.errors).noneMatch(NonBlockingTest::blocking);
    assertThat(operatorErrors).noneMatch(NonBlockingTest::blocking);
    assertThat(resilient.stats().timeouts()).as("the frozen phase was exercised").isPositive();
    assertThat(resilient.stats().skippedCalls()).as("the open breaker was exercised")
        .isPositive();
    assertThat(resilient.stats().invalidationsQueued()).isPositive();
  }
}
