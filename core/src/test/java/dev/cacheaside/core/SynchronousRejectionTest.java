package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * A store that rejects every call on the caller's own stack, inside the subscribe that sent it,
 * as Lettuce does with a command it cannot send: the engine must never send its next store call
 * from inside that rejection (issue 14: a second write into Lettuce's endpoint from inside the
 * first deadlocked against a reconnect). Each call records whether it was subscribed while another
 * call's rejection was still on the stack.
 */
class SynchronousRejectionTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  /** Rejects on the caller's stack; counts the calls sent from inside a rejection. */
  static final class RejectingStore extends ForwardingCacheStore {
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);
    final AtomicInteger calls = new AtomicInteger();
    final List<String> reentered = new CopyOnWriteArrayList<>();
    volatile boolean rejecting = true;

    RejectingStore(CacheStore delegate) {
      super(delegate);
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      return new Mono<T>() {
        @Override
        public void subscribe(CoreSubscriber<? super T> actual) {
          calls.incrementAndGet();
          if (INSIDE.get()) {
            reentered.add(operation.name());
          }
          if (!rejecting) {
            call.subscribe(actual);
            return;
          }
          INSIDE.set(true);
          try {
            Mono.<T>error(new IllegalStateException("rejected: not connected")).subscribe(actual);
          } finally {
            INSIDE.set(false);
          }
        }
      };
    }

    @Override
    protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
      return around(operation, call.collectList()).flatMapIterable(list -> list);
    }
  }

  private final RejectingStore store = new RejectingStore(InMemoryCacheStore.create());

  /** A cache that read its generation while the store answered; then the store rejects. */
  private CacheAside<String, String> cache(boolean leases) {
    return known(CacheAside.<String, String>builder("rejected").store(store).codec(Codec.utf8())
        .leases(leases).staleGrace(Duration.ofMinutes(1)).build());
  }

  private CacheAside<String, String> known(CacheAside<String, String> cache) {
    store.rejecting = false;
    cache.cacheAside("warm-up", k -> Mono.just("v")).block(WAIT);
    store.rejecting = true;
    store.calls.set(0);
    return cache;
  }

  @ParameterizedTest(name = "leases={0}")
  @ValueSource(booleans = {true, false})
  void cacheAside_storeRejectsOnTheCallersStack_noStoreCallIsSentFromInsideTheRejection(
      boolean leases) {
    CacheAside<String, String> cache = cache(leases);
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("loaded")))
        .expectNext("loaded").expectComplete().verify(WAIT);
    assertThat(store.calls).as("the store was tried").hasValueGreaterThan(1);
    assertThat(store.reentered).as("store calls sent from inside a rejection").isEmpty();
  }

  @Test
  void cacheAsideAll_storeRejectsOnTheCallersStack_noStoreCallIsSentFromInsideTheRejection() {
    CacheAside<String, String> cache = cache(true);
    BulkLoader<String, String> loader = keys -> {
      Map<String, String> found = new java.util.HashMap<>();
      keys.forEach(k -> found.put(k, "v" + k));
      return Mono.just(found);
    };
    StepVerifier.create(cache.cacheAsideAll(Flux.just("a", "b", "c"), loader).count())
        .expectNext(3L).expectComplete().verify(WAIT);
    assertThat(store.reentered).isEmpty();
  }

  @Test
  void invalidate_rejected_theCallersErrorHandlerMaySendTheNextCall() {
    CacheAside<String, String> cache = cache(true);
    Mono<String> readAfterFailedInvalidate = cache.invalidate("k")
        .then(Mono.<String>empty())
        .onErrorResume(e -> cache.cacheAside("k", k -> Mono.just("loaded")));
    StepVerifier.create(readAfterFailedInvalidate).expectNext("loaded").expectComplete()
        .verify(WAIT);
    assertThat(store.reentered).isEmpty();
  }

  @Test
  void writeThenInvalidate_rejectedAndRetried_noCallFromInsideARejection() {
    CacheAside<String, String> cache = known(CacheAside.<String, String>builder("rejected")
        .store(store).codec(Codec.utf8())
        .invalidationRetry(new InvalidationRetry(2, Duration.ofMillis(1), Duration.ofMillis(2)))
        .build());
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.just("written")))
        .expectNext("written").expectComplete().verify(WAIT);
    assertThat(cache.stats().invalidationFailures()).isEqualTo(1);
    assertThat(store.reentered).isEmpty();
  }

  @Test
  void staleEntry_refreshLeaseRejected_noCallFromInsideARejection() {
    MutableClock clock = new MutableClock();
    CacheAside<String, String> cache = CacheAside.<String, String>builder("rejected")
        .store(store).codec(Codec.utf8()).clock(clock).ttl(Duration.ofSeconds(1))
        .staleGrace(Duration.ofMinutes(1)).build();
    store.rejecting = false;
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("old"))).expectNext("old")
        .verifyComplete();
    clock.advance(Duration.ofSeconds(2));
    store.rejecting = true;
    // The GET is rejected too: the read is a miss answered by the loader.
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("new"))).expectNext("new")
        .expectComplete().verify(WAIT);
    assertThat(store.reentered).isEmpty();
  }
}
