package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.testing.SchedulerClock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Every load ends in bounded time, and work nobody waits for is shed (issue 14): a loader that
 * never completes fails its flight at the load timeout and gives its lease back; a read every
 * caller abandoned stops waiting and never calls its loader; a load already running finishes
 * ({@link AbandonedReads#CANCEL_UNSTARTED}) or is cancelled ({@link AbandonedReads#CANCEL}).
 * Time is virtual: nothing here waits for a clock.
 */
class BoundedLoadsTest {
  private static final Duration LEASE_TTL = Duration.ofSeconds(5);

  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final InMemoryCacheStore store =
      InMemoryCacheStore.builder().clock(new SchedulerClock(time)).build();

  private CacheAsideBuilder<String, String> cache() {
    return CacheAside.<String, String>builder("bounded").store(store).codec(Codec.utf8())
        .clock(new SchedulerClock(time)).scheduler(time).leaseTtl(LEASE_TTL);
  }

  @Test
  void hungLoader_failsEveryWaiterAtTheLoadTimeout_andReleasesItsLease() {
    CacheAside<String, String> cache = cache().loadTimeout(Duration.ofSeconds(2)).build();
    StepVerifier first = StepVerifier.create(cache.cacheAside("k", k -> Mono.never()))
        .expectError(TimeoutException.class).verifyLater();
    StepVerifier second = StepVerifier.create(cache.cacheAside("k", k -> Mono.never()))
        .expectError(TimeoutException.class).verifyLater();
    assertThat(cache.stats().readsInFlight()).isEqualTo(1);

    time.advanceTimeBy(Duration.ofSeconds(2));
    first.verify(Duration.ofSeconds(5));
    second.verify(Duration.ofSeconds(5));
    assertThat(cache.stats().readsInFlight()).as("the dead flight left the map").isZero();
    assertThat(cache.stats().loadFailures()).isEqualTo(1);
    assertThat(store.getOrLease("bounded:k", LEASE_TTL).block())
        .as("the lease was given back, long before its TTL").isInstanceOf(StoreLookup.Granted.class);
  }

  @Test
  void hungLoader_laterCallerWithAWorkingLoader_isAnsweredOnceTheTimeoutFired() {
    CacheAside<String, String> cache = cache().build();
    StepVerifier hung = StepVerifier.create(cache.cacheAside("k", k -> Mono.never()))
        .expectError(TimeoutException.class).verifyLater();
    time.advanceTimeBy(LEASE_TTL);
    hung.verify(Duration.ofSeconds(5));
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("v"))).expectNext("v")
        .verifyComplete();
  }

  @Test
  void loadTimeout_defaultsToTheLeaseTtl() {
    CacheAside<String, String> cache = cache().leaseTtl(Duration.ofSeconds(30)).build();
    StepVerifier hung = StepVerifier.create(cache.cacheAside("k", k -> Mono.never()))
        .expectError(TimeoutException.class).verifyLater();
    time.advanceTimeBy(Duration.ofSeconds(29));
    assertThat(cache.stats().readsInFlight()).as("before the lease TTL").isEqualTo(1);
    time.advanceTimeBy(Duration.ofSeconds(1));
    hung.verify(Duration.ofSeconds(5));
  }

  @Test
  void hungLoader_withAStaleValueInGrace_servesItAtTheTimeout() {
    CacheAside<String, String> cache = cache().ttl(Duration.ofSeconds(10))
        .staleGrace(Duration.ofMinutes(1)).loadTimeout(Duration.ofSeconds(1)).build();
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("old"))).expectNext("old")
        .verifyComplete();
    time.advanceTimeBy(Duration.ofSeconds(11));
    StepVerifier stale = StepVerifier.create(cache.cacheAside("k", k -> Mono.never()))
        .expectNext("old").expectComplete().verifyLater();
    time.advanceTimeBy(Duration.ofSeconds(1));
    stale.verify(Duration.ofSeconds(5));
  }

  @Test
  void hungBulkLoader_failsItsChunkAtTheLoadTimeout_andReleasesTheLeases() {
    CacheAside<String, String> cache = cache().loadTimeout(Duration.ofSeconds(2))
        .bulkWindow(10, Duration.ofMillis(1)).build();
    StepVerifier bulk = StepVerifier.create(
            cache.cacheAsideAll(Flux.just("a", "b"), keys -> Mono.never()))
        .expectNextMatches(r -> r.error() instanceof TimeoutException)
        .expectNextMatches(r -> r.error() instanceof TimeoutException)
        .expectComplete().verifyLater();
    time.advanceTimeBy(Duration.ofMillis(1));
    time.advanceTimeBy(Duration.ofSeconds(2));
    bulk.verify(Duration.ofSeconds(5));
    assertThat(store.getOrLease("bounded:a", LEASE_TTL).block()).isInstanceOf(
        StoreLookup.Granted.class);
    assertThat(cache.stats().readsInFlight()).isZero();
  }

  @Test
  void abandonedRead_waitingForAnotherInstancesLease_neverCallsItsLoader() {
    CacheAside<String, String> holder = cache().build();
    CacheAside<String, String> waiter = cache().build();
    Sinks.One<String> slowLoad = Sinks.one();
    holder.cacheAside("k", k -> slowLoad.asMono()).subscribe();
    AtomicInteger waiterLoads = new AtomicInteger();
    Disposable waiting = waiter.cacheAside("k", k -> {
      waiterLoads.incrementAndGet();
      return Mono.just("waiter's");
    }).subscribe();
    assertThat(waiter.stats().leaseWaits()).isEqualTo(1);

    waiting.dispose();
    assertThat(waiter.stats().readsInFlight()).isZero();
    time.advanceTimeBy(Duration.ofSeconds(2));
    assertThat(waiterLoads).as("the wait budget passed, but nobody was waiting").hasValue(0);
    slowLoad.tryEmitValue("holder's");
    StepVerifier.create(waiter.cacheAside("k", k -> Mono.just("x"))).expectNext("holder's")
        .verifyComplete();
  }

  @Test
  void abandonedRead_queuedBehindTheLoadDecorator_neverCallsItsLoader_andGivesItsLeaseBack() {
    Sinks.Empty<Void> permit = Sinks.empty();
    LoadDecorator gate = new LoadDecorator() {
      @Override
      public <T> Mono<T> decorate(Mono<T> load) {
        return permit.asMono().then(load);
      }
    };
    CacheAside<String, String> cache = cache().loadDecorator(gate).build();
    AtomicInteger loads = new AtomicInteger();
    Disposable caller = cache.cacheAside("k", k -> {
      loads.incrementAndGet();
      return Mono.just("v");
    }).subscribe();
    caller.dispose();
    permit.tryEmitEmpty();
    assertThat(loads).hasValue(0);
    assertThat(cache.stats().loads()).as("a load that never started is not counted").isZero();
    assertThat(store.getOrLease("bounded:k", LEASE_TTL).block()).isInstanceOf(
        StoreLookup.Granted.class);
  }

  @ParameterizedTest
  @EnumSource(AbandonedReads.class)
  void abandonedRead_whoseLoaderRuns_finishesOrIsCancelledAsConfigured(AbandonedReads policy) {
    CacheAside<String, String> cache = cache().abandonedReads(policy).build();
    Sinks.One<String> query = Sinks.one();
    AtomicInteger queryCancels = new AtomicInteger();
    Disposable caller = cache.cacheAside("k",
        k -> query.asMono().doOnCancel(queryCancels::incrementAndGet)).subscribe();
    caller.dispose();
    query.tryEmitValue("loaded");

    boolean finishes = policy != AbandonedReads.CANCEL;
    assertThat(queryCancels).hasValue(finishes ? 0 : 1);
    AtomicInteger reloads = new AtomicInteger();
    StepVerifier.create(cache.cacheAside("k", k -> {
      reloads.incrementAndGet();
      return Mono.just("reloaded");
    })).expectNext(finishes ? "loaded" : "reloaded").verifyComplete();
    assertThat(reloads).as("cached by the abandoned load").hasValue(finishes ? 0 : 1);
  }

  @Test
  void abandonedBulkStream_windowsStartedStillAnswerTheirFlights() {
    CacheAside<String, String> cache = cache().bulkWindow(10, Duration.ofMillis(1)).build();
    Sinks.One<Map<String, String>> query = Sinks.one();
    Disposable stream = cache.cacheAsideAll(Flux.just("a"), keys -> query.asMono()).subscribe();
    time.advanceTimeBy(Duration.ofMillis(1));
    StepVerifier joiner = StepVerifier.create(cache.cacheAside("a", k -> Mono.just("own")))
        .expectNext("bulk").expectComplete().verifyLater();
    stream.dispose();
    query.tryEmitValue(Map.of("a", "bulk"));
    joiner.verify(Duration.ofSeconds(5));
    assertThat(List.of(cache.stats().readsInFlight())).containsExactly(0L);
  }
}
