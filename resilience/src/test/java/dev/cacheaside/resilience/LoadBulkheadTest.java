package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;
import dev.cacheaside.testing.Poll;

/** The loader bulkhead: the cap holds, waits are bounded and fair, and no permit leaks. */
class LoadBulkheadTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private static int available(LoadBulkhead bulkhead) {
    return bulkhead.bulkhead().getMetrics().getAvailableConcurrentCalls();
  }

  @Test
  void coldCacheBurstOfThousandDistinctKeys_neverMoreConcurrentLoadsThanTheCap() {
    int cap = 8;
    int keys = 1_000;
    LoadBulkhead bulkhead = LoadBulkhead.of("db", cap, Duration.ofMinutes(1));
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("cold")
        .store(InMemoryCacheStore.create()).codec(Codec.utf8()).loadDecorator(bulkhead).build();
    ConcurrentLoads loads = new ConcurrentLoads();
    // The first loads hold until every other one is queued, so the cap is certainly reached.
    Sinks.Empty<Void> gate = Sinks.empty();
    Mono<List<String>> burst = Flux.range(0, keys)
        .flatMap(k -> cache.cacheAside(k, key -> loads.track(gate.asMono()
                .then(Mono.delay(Duration.ofMillis(1)))
                .thenReturn("v" + key)))
            .subscribeOn(Schedulers.parallel()), keys)
        .collectList();
    StepVerifier.create(burst)
        .then(() -> {
          Poll.until("every load over the cap to queue", WAIT,
              () -> loads.active.get() == cap && bulkhead.waitingLoads() == keys - cap);
          gate.tryEmitEmpty();
        })
        .assertNext(values -> assertThat(values).hasSize(keys))
        .expectComplete()
        .verify(WAIT);
    assertThat(loads.max).as("most loads at once").hasValue(cap);
    assertThat(loads.calls).hasValue(keys);
    assertThat(cache.stats().loadFailures()).isZero();
    assertThat(bulkhead.waitedLoads()).isGreaterThanOrEqualTo(keys - cap);
    assertThat(available(bulkhead)).isEqualTo(cap);
  }

  @Test
  void overCap_waitsInArrivalOrder() {
    LoadBulkhead bulkhead = LoadBulkhead.of("db", 1, Duration.ofMinutes(1));
    Sinks.One<String> first = Sinks.one();
    List<String> started = new CopyOnWriteArrayList<>();
    Disposable holder = bulkhead.decorate(first.asMono()).subscribe();
    List<Mono<String>> queued = List.of("a", "b", "c").stream()
        .map(name -> bulkhead.decorate(Mono.fromSupplier(() -> {
          started.add(name);
          return name;
        })).cache())
        .toList();
    queued.forEach(Mono::subscribe);
    assertThat(bulkhead.waitingLoads()).isEqualTo(3);
    assertThat(started).isEmpty();
    first.tryEmitValue("done");
    assertThat(started).containsExactly("a", "b", "c");
    assertThat(available(bulkhead)).isEqualTo(1);
    holder.dispose();
  }

  @Test
  void noPermitWithinTheWait_failsWithBulkheadFull_andLeavesTheQueue() {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    LoadBulkhead bulkhead = LoadBulkhead.of("db", BulkheadConfig.custom().maxConcurrentCalls(1)
        .maxWaitDuration(Duration.ofMillis(50)).build(), time);
    Disposable holder = bulkhead.decorate(Mono.never()).subscribe();
    AtomicInteger calls = new AtomicInteger();
    StepVerifier.create(bulkhead.decorate(Mono.fromCallable(calls::incrementAndGet)))
        .then(() -> time.advanceTimeBy(Duration.ofMillis(49)))
        .expectNoEvent(Duration.ZERO)
        .then(() -> time.advanceTimeBy(Duration.ofMillis(1)))
        .expectError(BulkheadFullException.class)
        .verify(WAIT);
    assertThat(calls).as("the load never ran").hasValue(0);
    assertThat(bulkhead.waitingLoads()).isZero();
    assertThat(bulkhead.rejectedLoads()).isEqualTo(1);
    holder.dispose();
    assertThat(available(bulkhead)).as("the cancelled holder returned its permit").isEqualTo(1);
  }

  @Test
  void zeroWait_failsAtOnceWhenFull() {
    LoadBulkhead bulkhead = LoadBulkhead.of("db", 1, Duration.ZERO);
    Disposable holder = bulkhead.decorate(Mono.never()).subscribe();
    StepVerifier.create(bulkhead.decorate(Mono.just(1))).expectError(BulkheadFullException.class)
        .verify(WAIT);
    holder.dispose();
    StepVerifier.create(bulkhead.decorate(Mono.just(1))).expectNext(1).verifyComplete();
  }

  @Test
  void cancelWhileWaiting_leavesTheQueue_cancelWhileRunning_returnsThePermit() {
    LoadBulkhead bulkhead = LoadBulkhead.of("db", 1, Duration.ofMinutes(1));
    Disposable running = bulkhead.decorate(Mono.never()).subscribe();
    AtomicInteger calls = new AtomicInteger();
    Disposable waiting = bulkhead.decorate(Mono.fromCallable(calls::incrementAndGet)).subscribe();
    assertThat(bulkhead.waitingLoads()).isEqualTo(1);
    waiting.dispose();
    assertThat(bulkhead.waitingLoads()).isZero();
    running.dispose();
    assertThat(calls).as("a cancelled waiter never runs").hasValue(0);
    assertThat(available(bulkhead)).isEqualTo(1);
    StepVerifier.create(bulkhead.decorate(Mono.just("next"))).expectNext("next").verifyComplete();
  }

  @Test
  void manyLoadsCancelledAtRandomMoments_noPermitLeaks_andTheCapHolds() {
    int cap = 4;
    LoadBulkhead bulkhead = LoadBulkhead.of("db", cap, Duration.ofMillis(20));
    ConcurrentLoads loads = new ConcurrentLoads();
    Flux.range(0, 5_000)
        .flatMap(i -> bulkhead.decorate(loads.track(Mono.delay(Duration.ofNanos(
                ThreadLocalRandom.current().nextLong(200_000))).thenReturn(i)))
            .timeout(Duration.ofNanos(ThreadLocalRandom.current().nextLong(1_000_000)))
            .onErrorResume(e -> Mono.empty())
            .subscribeOn(Schedulers.parallel()), 256)
        .blockLast(WAIT);
    // A cancelled load's permit is returned by an operator downstream of the load, just after
    // the load itself has ended; so wait for both (a leaked permit times the poll out).
    Poll.until("every load to end and every permit to return", WAIT,
        () -> loads.active.get() == 0 && available(bulkhead) == cap);
    assertThat(loads.max.get()).isLessThanOrEqualTo(cap);
    assertThat(bulkhead.waitingLoads()).isZero();
  }

  @Test
  void of_rejectsBadValues_namingThem() {
    assertThatThrownBy(() -> LoadBulkhead.of("db", 0, Duration.ZERO))
        .hasMessage("maxConcurrentLoads must be positive but was 0");
    assertThatThrownBy(() -> LoadBulkhead.of("db", 1, Duration.ofMillis(-1)))
        .hasMessage("maxWait must not be negative but was PT-0.001S");
    assertThatThrownBy(() -> LoadBulkhead.of(" ")).hasMessage("name must not be blank");
    LoadBulkhead bulkhead = LoadBulkhead.of("db");
    assertThat(bulkhead.maxConcurrentLoads())
        .isEqualTo(LoadBulkhead.DEFAULT_MAX_CONCURRENT_LOADS);
    assertThat(bulkhead.maxWait()).isEqualTo(LoadBulkhead.DEFAULT_MAX_WAIT);
    assertThat(bulkhead.bulkhead().getBulkheadConfig().getMaxWaitDuration())
        .as("the Resilience4j bulkhead itself never blocks a thread").isZero();
  }
}
