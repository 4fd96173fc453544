package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreState;
import dev.cacheaside.core.testkit.FaultyStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

/**
 * An open breaker closes by background probes without traffic; {@link ResilientCacheStore#state()}
 * follows the breaker and what is owed; closing flushes what is owed within its timeout and closes
 * the store it owns. Virtual time throughout ({@link VirtualTime}).
 */
class RecoveryAndCloseTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final InMemoryCacheStore memory = InMemoryCacheStore.create();
  private final FaultyStore faulty = new FaultyStore(memory);
  private final ClosableStore owned = new ClosableStore(faulty);
  private final VirtualTime time = new VirtualTime();

  /** A store that counts its closes. */
  private static final class ClosableStore extends ForwardingCacheStore implements AutoCloseable {
    final AtomicInteger closes = new AtomicInteger();

    ClosableStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public void close() {
      closes.incrementAndGet();
    }
  }

  RecoveryAndCloseTest() {
    faulty.clock = time.scheduler;
  }

  @AfterEach
  void stopTime() {
    time.scheduler.dispose();
  }

  private static List<String> keys(int n) {
    return IntStream.range(0, n).mapToObj(i -> "k" + i).toList();
  }

  /** Takes the store down and fails reads through {@code store} until its breaker opens. */
  private void open(ResilientCacheStore store) {
    faulty.mode = FaultyStore.Mode.DOWN;
    for (int i = 0; i < 20; i++) {
      Disposable unused = store.get("k" + i).subscribe(v -> { }, e -> { });
    }
    assertThat(store.circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void openBreaker_isProbedInTheBackground_andClosesWithoutTraffic() {
    ResilientCacheStore store = time.builder(faulty).build();
    open(store);
    int callsAtOpen = faulty.calls.get();
    time.advance(Duration.ofSeconds(5));
    assertThat(store.circuitBreaker().getState()).as("probes fail while the store is down")
        .isNotEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(faulty.pings.get()).as("probes sent").isPositive();

    faulty.mode = FaultyStore.Mode.UP;
    time.advance(Duration.ofSeconds(2));
    assertThat(store.circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(faulty.calls.get() - callsAtOpen).as("every call since the opening was a probe")
        .isEqualTo(faulty.pings.get());

    int pings = faulty.pings.get();
    time.advance(Duration.ofSeconds(10));
    assertThat(faulty.pings.get()).as("no probe while closed").isEqualTo(pings);
  }

  @Test
  void state_upWhenClosedAndNothingOwed_degradedWhenHalfOpenOrOwing_downWhenOpen() {
    ResilientCacheStore store = time.builder(faulty).build();
    assertThat(store.state()).isEqualTo(StoreState.UP);

    faulty.failDeletes = true;
    StepVerifier.create(store.delete("k")).verifyComplete();
    assertThat(store.state()).as("an invalidation owed").isEqualTo(StoreState.DEGRADED);

    open(store);
    assertThat(store.state()).isEqualTo(StoreState.DOWN);
    store.circuitBreaker().transitionToHalfOpenState();
    assertThat(store.state()).isEqualTo(StoreState.DEGRADED);

    faulty.mode = FaultyStore.Mode.UP;
    faulty.failDeletes = false;
    time.advance(Duration.ofSeconds(3));
    assertThat(store.circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(store.state()).as("closed, the invalidation replayed").isEqualTo(StoreState.UP);
  }

  @Test
  void close_flushesTheQueuedInvalidations_thenClosesTheStoreItWraps() {
    keys(5).forEach(k -> memory.set(k, new byte[] {1}, Duration.ofMinutes(1)).block());
    ResilientCacheStore store = time.builder(owned)
        .replayRetryInterval(Duration.ofMinutes(1)).build();
    faulty.failDeletes = true;
    StepVerifier.create(store.delete(keys(5))).verifyComplete();
    assertThat(store.pendingInvalidations()).isEqualTo(5);

    faulty.failDeletes = false;
    StepVerifier.create(store.closeAsync()).verifyComplete();
    assertThat(memory.getAll(keys(5)).block(WAIT)).as("deleted by the flush").isEmpty();
    assertThat(store.stats().invalidationsReplayed()).isEqualTo(5);
    assertThat(store.stats().invalidationsUnflushed()).isZero();
    assertThat(owned.closes).hasValue(1);
  }

  @Test
  void close_givesUpAfterCloseTimeout_countingWhatIsStillOwed_andStillClosesTheStore() {
    ResilientCacheStore store = time.builder(owned)
        .closeTimeout(Duration.ofSeconds(2)).replayRetryInterval(Duration.ofMillis(100)).build();
    faulty.mode = FaultyStore.Mode.DOWN;
    StepVerifier.create(store.delete(keys(5))).verifyComplete();

    StepVerifier.create(store.closeAsync())
        .then(() -> time.advance(Duration.ofSeconds(1)))
        .expectNoEvent(Duration.ZERO)
        .then(() -> time.advance(Duration.ofSeconds(1)))
        .verifyComplete();
    assertThat(store.stats().invalidationsUnflushed()).isEqualTo(5);
    assertThat(owned.closes).hasValue(1);
  }

  @Test
  void close_isDoneOnce_andLeavesTheStoreOpenWhenItDoesNotOwnIt() {
    ResilientCacheStore shared = time.builder(owned).ownsStore(false).build();
    ResilientCacheStore owner = time.builder(owned).build();
    shared.close();
    assertThat(owned.closes).hasValue(0);
    owner.close();
    owner.close();
    StepVerifier.create(owner.closeAsync()).verifyComplete();
    assertThat(owned.closes).hasValue(1);
  }

  @Test
  void close_stopsTheBackgroundProbe() {
    ResilientCacheStore store = time.builder(faulty).build();
    open(store);
    store.close();
    int pings = faulty.pings.get();
    time.advance(Duration.ofSeconds(5));
    assertThat(faulty.pings.get()).isEqualTo(pings);
  }
}
