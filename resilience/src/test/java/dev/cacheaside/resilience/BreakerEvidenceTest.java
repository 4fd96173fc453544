package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.testkit.FaultyStore;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/**
 * The circuit breaker opens on evidence (a rate of failures or slow calls over its window), never
 * on one slow call and never on time this JVM lost itself; cancels give their permission back;
 * deletes are queued only on evidence. Virtual time throughout ({@link VirtualTime}).
 */
class BreakerEvidenceTest {
  private static final Duration SLOW = Duration.ofMillis(150);

  private final InMemoryCacheStore memory = InMemoryCacheStore.create();
  private final FaultyStore faulty = new FaultyStore(memory);
  private final VirtualTime time = new VirtualTime();
  private final List<Disposable> calls = new ArrayList<>();
  private final AtomicInteger answered = new AtomicInteger();
  private final List<Throwable> errors = new ArrayList<>();
  private ResilientCacheStore store;

  BreakerEvidenceTest() {
    faulty.clock = time.scheduler;
    store = time.builder(faulty).ownsStore(false).closeTimeout(Duration.ZERO).build();
  }

  @AfterEach
  void close() {
    calls.forEach(Disposable::dispose);
    time.scheduler.dispose();
  }

  /** Starts {@code n} reads; {@link #answered} and {@link #errors} tell how they ended. */
  private void read(int n) {
    for (int i = 0; i < n; i++) {
      calls.add(store.get("k" + i).subscribe(v -> { }, errors::add, answered::incrementAndGet));
    }
  }

  private CircuitBreaker.State state() {
    return store.circuitBreaker().getState();
  }

  private CircuitBreaker.Metrics metrics() {
    return store.circuitBreaker().getMetrics();
  }

  @Test
  void oneSlowCall_isNoEvidence_aRateOfSlowCallsOpensTheBreaker() {
    faulty.delay = SLOW;
    read(1);
    time.advance(SLOW);
    assertThat(answered).hasValue(1);
    assertThat(metrics().getNumberOfSlowCalls()).isEqualTo(1);
    assertThat(state()).as("one slow call").isEqualTo(CircuitBreaker.State.CLOSED);

    read(8);
    time.advance(SLOW);
    assertThat(state()).as("9 slow calls, under the window's minimum of 10")
        .isEqualTo(CircuitBreaker.State.CLOSED);
    read(1);
    time.advance(SLOW);
    assertThat(answered).hasValue(10);
    assertThat(state()).as("10 of 10 calls slow").isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void aFewTimeoutsAmongAnsweredCalls_doNotOpenIt_halfTheCallsTimingOutDoes() {
    read(40);
    assertThat(answered).hasValue(40);
    faulty.mode = FaultyStore.Mode.FROZEN;
    read(5);
    time.advance(Duration.ofMillis(400));
    assertThat(errors).hasSize(5).allMatch(e -> e instanceof TimeoutException);
    assertThat(store.stats().timeouts()).isEqualTo(5);
    assertThat(state()).as("5 timeouts of 45 calls").isEqualTo(CircuitBreaker.State.CLOSED);

    read(40);
    time.advance(Duration.ofMillis(400));
    assertThat(store.stats().timeouts()).isEqualTo(45);
    assertThat(state()).as("45 timeouts of 85 calls").isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void callsSlowBecauseThisJvmLagged_areNotHeldAgainstTheStore() {
    faulty.delay = Duration.ofMillis(10);
    read(30);
    // The JVM stalls for a second (no timer runs) while the reads wait for their answers.
    time.lag(Duration.ofSeconds(1));
    time.advance(Duration.ofMillis(10));
    assertThat(answered).hasValue(30);
    assertThat(store.stats().slowCallsExcused()).isEqualTo(30);
    assertThat(metrics().getNumberOfSlowCalls()).isZero();
    assertThat(state()).isEqualTo(CircuitBreaker.State.CLOSED);

    // The same durations with the timer running all along: the store was slow.
    faulty.delay = Duration.ofSeconds(1).plusMillis(10);
    store = time.builder(faulty).ownsStore(false).timeLimit(Duration.ofSeconds(2)).build();
    read(30);
    time.advance(faulty.delay);
    assertThat(answered).hasValue(60);
    assertThat(store.stats().slowCallsExcused()).isZero();
    assertThat(state()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void timeLimit_isCountedInTimerTicks_soALagDoesNotCutCallsOff() {
    faulty.delay = Duration.ofMillis(100);
    read(10);
    time.lag(Duration.ofSeconds(2));
    time.advance(Duration.ofMillis(100));
    assertThat(errors).as("answered after 2.1 s of wall time, of which 2 s were lost here")
        .isEmpty();
    assertThat(answered).hasValue(10);
  }

  @Test
  void cancelBeforeAnyAnswer_givesTheHalfOpenBreakersPermitBack() {
    faulty.mode = FaultyStore.Mode.FROZEN;
    store.circuitBreaker().transitionToOpenState();
    store.circuitBreaker().transitionToHalfOpenState();
    read(3);
    calls.forEach(Disposable::dispose);
    read(3);
    assertThat(store.stats().skippedCalls()).as("the cancelled probes' permits came back")
        .isZero();
    read(1);
    assertThat(errors).singleElement().isInstanceOf(CallNotPermittedException.class);
  }

  @Test
  void cancelAfterTheSlowThreshold_countsAsASlowCall() {
    faulty.mode = FaultyStore.Mode.FROZEN;
    read(2);
    time.advance(Duration.ofMillis(50));
    calls.get(0).dispose();
    time.advance(SLOW);
    calls.get(1).dispose();
    assertThat(metrics().getNumberOfSlowCalls()).as("the second only").isEqualTo(1);
    assertThat(metrics().getNumberOfBufferedCalls()).isEqualTo(1);
  }

  @Test
  void slowDelete_whileTheStoreAnswers_isNeitherCutOffNorQueued_andEndsWhenTheStoreHasIt() {
    memory.set("k", new byte[] {1}, Duration.ofMinutes(1)).block();
    faulty.deleteDelay = Duration.ofSeconds(2);
    calls.add(store.delete("k").subscribe(v -> { }, errors::add, answered::incrementAndGet));
    time.advance(Duration.ofSeconds(1));
    assertThat(answered).as("not done before the store has it").hasValue(0);
    assertThat(store.pendingInvalidations()).as("nothing queued on a guess").isZero();
    assertThat(memory.get("k").block()).isNotNull();

    time.advance(Duration.ofSeconds(1));
    assertThat(answered).hasValue(1);
    assertThat(errors).isEmpty();
    assertThat(memory.get("k").block()).isNull();
    assertThat(store.stats().invalidationsQueued()).isZero();
    assertThat(store.stats().timeouts()).isZero();
  }

  @Test
  void deleteItsCallerGaveUpOn_isQueued_readsOfItsKeyHeldBack_andReplayedWhenTheStoreAnswers() {
    memory.set("k", new byte[] {1}, Duration.ofMinutes(1)).block();
    faulty.mode = FaultyStore.Mode.FROZEN;
    // As the core gives up on a delete at its store timeout.
    calls.add(store.delete("k").timeout(Duration.ofSeconds(1), time.scheduler)
        .subscribe(v -> { }, errors::add));
    time.advance(Duration.ofSeconds(1));
    assertThat(errors).singleElement().isInstanceOf(TimeoutException.class);
    assertThat(store.pendingInvalidations()).isEqualTo(1);
    calls.add(store.get("k").subscribe(v -> { }, errors::add));
    assertThat(errors).last().isInstanceOf(HeldBackException.class);

    faulty.mode = FaultyStore.Mode.UP;
    time.advance(Duration.ofSeconds(2));
    assertThat(store.recovered()).isTrue();
    assertThat(memory.get("k").block()).isNull();
    assertThat(store.stats().invalidationsReplayed()).isEqualTo(1);
  }

  @Test
  void deleteSkippedByTheOpenBreaker_isQueued_andCompletes() {
    store.circuitBreaker().transitionToOpenState();
    calls.add(store.delete("k").subscribe(v -> { }, errors::add, answered::incrementAndGet));
    assertThat(answered).hasValue(1);
    assertThat(errors).isEmpty();
    assertThat(store.pendingInvalidations()).isEqualTo(1);
    assertThat(faulty.deletes).as("never sent").hasValue(0);
  }

  @Test
  void storeError_isReportedOnce_andNotExcused() {
    faulty.mode = FaultyStore.Mode.DOWN;
    read(3);
    assertThat(store.stats().failedCalls()).isEqualTo(3);
    assertThat(metrics().getNumberOfFailedCalls()).isEqualTo(3);
    assertThat(errors).hasSize(3).allMatch(e -> e.getMessage().equals("store is down"));
  }
}
