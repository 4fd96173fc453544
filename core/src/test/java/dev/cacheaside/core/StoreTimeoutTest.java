package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.SchedulerClock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * A store that stops answering (a frozen Redis, a client without a timeout) costs each read a
 * bounded time: the store timeout, enforced by one timer per cache on the hit path and per call
 * on the slow paths (issue 14). Time is virtual.
 */
class StoreTimeoutTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(1);

  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final InMemoryCacheStore memory =
      InMemoryCacheStore.builder().clock(new SchedulerClock(time)).build();

  /** Answers generation reads; every other call hangs while {@link #frozen}, and is counted. */
  static final class FreezingStore extends ForwardingCacheStore {
    volatile boolean frozen;
    final AtomicInteger cancelled = new AtomicInteger();

    FreezingStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      if (operation == Operation.GENERATION) {
        return call;
      }
      return Mono.defer(() -> frozen ? Mono.<T>never().doOnCancel(cancelled::incrementAndGet)
          : call);
    }

    @Override
    protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
      return Flux.defer(() -> frozen ? Flux.<T>never().doOnCancel(cancelled::incrementAndGet)
          : call);
    }
  }

  private final FreezingStore store = new FreezingStore(memory);

  private CacheAside<String, String> cache(boolean shareReads) {
    CacheAside<String, String> cache = CacheAside.<String, String>builder("frozen").store(store)
        .codec(Codec.utf8()).clock(new SchedulerClock(time)).scheduler(time)
        .shareReads(shareReads).storeTimeout(TIMEOUT).build();
    cache.cacheAside("warm-up", k -> Mono.just("v")).block(Duration.ofSeconds(5));
    return cache;
  }

  @ParameterizedTest(name = "shareReads={0}")
  @ValueSource(booleans = {true, false})
  void storeFrozen_eachReadIsAnsweredByTheLoaderWithinBoundedTime(boolean shareReads) {
    CacheAside<String, String> cache = cache(shareReads);
    store.frozen = true;
    StepVerifier read = StepVerifier.create(cache.cacheAside("k", k -> Mono.just("loaded")))
        .expectNext("loaded").expectComplete().verifyLater();
    time.advanceTimeBy(TIMEOUT.multipliedBy(9).dividedBy(10));
    assertThat(store.cancelled).as("nothing timed out before the store timeout").hasValue(0);
    // GET (at most 1.25 × the timeout), the lease (1 ×), then the load, stored nowhere without
    // a lease; a caller's own read first tries its own GET (1.25 ×): the read ends by 3.5 ×.
    time.advanceTimeBy(TIMEOUT.multipliedBy(26).dividedBy(10));
    read.verify(Duration.ofSeconds(5));
    int cutOff = shareReads ? 2 : 3;
    assertThat(store.cancelled).as("each store call cut off").hasValue(cutOff);
    assertThat(cache.stats().storeErrors()).isEqualTo(cutOff);
    assertThat(cache.stats().readsInFlight()).isZero();
  }

  @Test
  void storeFrozen_invalidateFailsWithinTheStoreTimeout() {
    CacheAside<String, String> cache = cache(true);
    store.frozen = true;
    StepVerifier invalidate = StepVerifier.create(cache.invalidate("k"))
        .expectError(java.util.concurrent.TimeoutException.class).verifyLater();
    time.advanceTimeBy(TIMEOUT);
    invalidate.verify(Duration.ofSeconds(5));
  }

  /** Takes {@link #delay} of virtual time to assemble a GET of {@code "slow"}, once armed. */
  final class SlowToSendStore extends ForwardingCacheStore {
    volatile boolean armed;

    SlowToSendStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public Mono<byte[]> get(String key) {
      if (armed && key.endsWith("slow")) {
        armed = false;
        // The reading thread is held up after its flight started and before its GET is sent
        // (descheduled on a busy machine); the timer runs meanwhile.
        time.advanceTimeBy(TIMEOUT.multipliedBy(3));
      }
      return super.get(key);
    }
  }

  @Test
  void readHeldUpBeforeItsGetIsSent_isNotCutOffForTimeItWasNotWaitingOnTheStore() {
    SlowToSendStore slow = new SlowToSendStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("slow-send")
        .store(slow).codec(Codec.utf8()).clock(new SchedulerClock(time)).scheduler(time)
        .storeTimeout(TIMEOUT).build();
    cache.cacheAside("slow", k -> Mono.just("v")).block(Duration.ofSeconds(5));
    // Another read waits on the store meanwhile, so the timer is running.
    store.frozen = true;
    StepVerifier other = StepVerifier.create(cache.cacheAside("other", k -> Mono.just("o")))
        .expectNext("o").expectComplete().verifyLater();
    store.frozen = false;
    slow.armed = true;
    AtomicInteger loads = new AtomicInteger();
    StepVerifier.create(cache.cacheAside("slow", k -> {
          loads.incrementAndGet();
          return Mono.just("loaded");
        }))
        .expectNext("v").as("a hit, not cut off before it was sent").verifyComplete();
    assertThat(loads).hasValue(0);
    other.verify(Duration.ofSeconds(5));
    // Cut off, the slow read would still find "v" (through the lease script), so the hit alone
    // does not show it: the timeout would be counted as a second store failure.
    assertThat(cache.stats().storeErrors()).as("only the frozen read was cut off").isEqualTo(1);
  }

  @Test
  void storeAnswersInTime_nothingIsCutOff() {
    CacheAside<String, String> cache = cache(true);
    for (int i = 0; i < 3; i++) {
      StepVerifier.create(cache.cacheAside("k", k -> Mono.just("v"))).expectNext("v")
          .verifyComplete();
      time.advanceTimeBy(TIMEOUT);
    }
    assertThat(cache.stats().storeErrors()).isZero();
  }
  /**
   * {@link #time}, except that while {@link #refusing}, or once {@link #allowed} armings were
   * let through, the hit path's store timer (a tick every quarter of the store timeout) is
   * refused with a throw; the slow paths' own timeouts are scheduled as usual. A task that throws
   * is dropped, as a pool does ({@code Schedulers.parallel()} hands the error to its handler),
   * never thrown at whoever advances the clock.
   */
  final class RefusingTimers implements Scheduler {
    volatile boolean refusing;
    final AtomicInteger allowed = new AtomicInteger(Integer.MAX_VALUE);
    final AtomicInteger refused = new AtomicInteger();

    @Override
    public Disposable schedule(Runnable task) {
      return time.schedule(task);
    }

    @Override
    public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
      if (unit.toMillis(delay) == TIMEOUT.toMillis() / 4
          && (refusing || allowed.getAndDecrement() <= 0)) {
        refused.incrementAndGet();
        throw new IllegalStateException("timer refused");
      }
      return time.schedule(() -> {
        try {
          task.run();
        } catch (RuntimeException dropped) {
          // Handled by the pool's error handler, which a test does not need.
        }
      }, delay, unit);
    }

    @Override
    public long now(TimeUnit unit) {
      return time.now(unit);
    }

    @Override
    public Worker createWorker() {
      return time.createWorker();
    }
  }

  /**
   * A scheduler that throws (not a shutdown's rejection) when the hit path arms its store timer
   * fails that read, and leaves nothing behind: not a flight that never sent its GET for later
   * reads of the key to join, not a timer marked running that never runs. Seen in CI: BlockHound's
   * error from a contended lock inside a test scheduler escaped that way.
   */
  @ParameterizedTest(name = "shareReads={0}")
  @ValueSource(booleans = {true, false})
  void schedulerThrowsWhenTheStoreTimerIsArmed_readFails_laterReadsAreServedAndBounded(
      boolean shareReads) {
    RefusingTimers timers = new RefusingTimers();
    CacheAside<String, String> cache = CacheAside.<String, String>builder("refusing")
        .store(store).codec(Codec.utf8()).clock(new SchedulerClock(time)).scheduler(timers)
        .shareReads(shareReads).storeTimeout(TIMEOUT).build();
    timers.refusing = true;
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("loaded")))
        .expectErrorMessage("timer refused").verify(Duration.ofSeconds(5));
    assertThat(cache.stats().readsInFlight()).as("the failed read left no flight").isZero();

    timers.refusing = false;
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("loaded")))
        .expectNext("loaded").verifyComplete();
    store.frozen = true;
    StepVerifier frozen = StepVerifier.create(cache.cacheAside("k", k -> Mono.just("again")))
        .expectNext("again").expectComplete().verifyLater();
    time.advanceTimeBy(TIMEOUT.multipliedBy(4));
    frozen.verify(Duration.ofSeconds(5));
    assertThat(store.cancelled.get()).as("the store timer runs again").isPositive();
  }

  /**
   * The timer was armed for a read; when it ticks and finds the read still waiting on a frozen
   * store, re-arming it throws (a scheduler failing intermittently). No other read comes to arm
   * it again: the waiting read must still end within bounded time, answered by the loader.
   */
  @Test
  void schedulerThrowsWhenTheTimerReArms_readInFlightStillEnds() {
    RefusingTimers timers = new RefusingTimers();
    CacheAside<String, String> cache = CacheAside.<String, String>builder("rearm")
        .store(store).codec(Codec.utf8()).clock(new SchedulerClock(time)).scheduler(timers)
        .storeTimeout(TIMEOUT).build();
    cache.cacheAside("warm-up", k -> Mono.just("v")).block(Duration.ofSeconds(5));
    time.advanceTimeBy(TIMEOUT.multipliedBy(2));
    timers.allowed.set(1);
    store.frozen = true;
    StepVerifier frozen = StepVerifier.create(cache.cacheAside("k", k -> Mono.just("loaded")))
        .expectNext("loaded").expectComplete().verifyLater();
    time.advanceTimeBy(TIMEOUT.multipliedBy(10));
    assertThat(timers.refused).as("the re-arm was refused").hasPositiveValue();
    frozen.verify(Duration.ofSeconds(5));
  }
}
