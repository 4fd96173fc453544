package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The refresh path under BlockHound (installed in this JVM): refreshes (single-key and bulk)
 * start on {@link Schedulers#parallel()}, take leases, load, store and are joined by misses,
 * while hits, bulk reads, invalidations and writes run on parallel threads too. The entries'
 * clock is a fake one the test moves between rounds, so which entries are due, stale or gone does
 * not depend on how fast this machine is; everything else runs on real threads. A blocking call
 * inside a refresh ends it with BlockHound's error, counted as a refresh failure; the second test
 * shows that it is.
 */
class BackgroundRefreshNonBlockingTest {
  private final MutableClock clock = new MutableClock();

  private List<CacheAside<Integer, String>> instances() {
    InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();
    return List.of(1, 2).stream().map(i -> CacheAside.<Integer, String>builder("nb")
        .store(store).codec(Codec.utf8()).clock(clock).ttl(Duration.ofMillis(50))
        .staleGrace(Duration.ofMillis(50)).earlyRefresh(EarlyRefresh.ahead(0.2))
        .refreshBackoff(Duration.ofMillis(1), Duration.ofMillis(5)).build()).toList();
  }

  @Test
  void refreshPath_onParallelThreads_neverBlocks() {
    List<CacheAside<Integer, String>> caches = instances();
    AtomicInteger loads = new AtomicInteger();
    Function<Integer, Mono<String>> loader = k -> {
      loads.incrementAndGet();
      return Mono.delay(Duration.ofMillis(1)).thenReturn("v" + k);
    };
    BulkLoader<Integer, String> bulk = keys -> Mono.delay(Duration.ofMillis(1))
        .then(Flux.fromIterable(keys).collectMap(k -> k, k -> "v" + k));
    for (int round = 0; round < 20; round++) {
      Flux<String> work = Flux.range(0, 300).flatMap(i -> {
        CacheAside<Integer, String> cache = caches.get(i % 2);
        int key = i % 20;
        Mono<String> read = cache.cacheAside(key, loader);
        Mono<String> op = i % 53 == 0 ? cache.invalidate(key).then(read)
            : i % 71 == 0 ? cache.writeThenInvalidate(key, Mono.just("w"))
            : i % 7 == 0 ? cache.cacheAsideAll(Flux.range(key, 5), bulk).then(Mono.just("b"))
            : read;
        return op.subscribeOn(Schedulers.parallel());
      }, 32);
      StepVerifier.create(work.then()).verifyComplete();
      clock.advance(Duration.ofMillis(7));
    }
    assertThat(caches.stream().mapToLong(c -> c.stats().refreshes()).sum()).isPositive();
    for (CacheAside<Integer, String> cache : caches) {
      assertThat(cache.stats().refreshFailures()).as("no refresh hit BlockHound").isZero();
      assertThat(cache.stats().loadFailures()).isZero();
      assertThat(cache.stats().storeErrors()).isZero();
    }
  }

  @Test
  void blockingLoaderInARefresh_isCaughtByBlockHound_provingTheTestCanFail() {
    CacheAside<Integer, String> cache = instances().get(0);
    Function<Integer, Mono<String>> blocking = k -> Mono.fromCallable(() -> {
      Thread.sleep(1);
      return "blocked";
    });
    StepVerifier.create(Flux.range(0, 20).flatMap(k -> cache.cacheAside(k, key -> Mono.just("v"))))
        .expectNextCount(20).verifyComplete();
    clock.advance(Duration.ofMillis(20));
    StepVerifier.create(Flux.range(0, 20)
            .flatMap(k -> cache.cacheAside(k, blocking).subscribeOn(Schedulers.parallel())))
        .as("hits are served at once").expectNextCount(20).verifyComplete();
    // The refreshes run in the background: poll (bounded) until they have ended.
    for (int i = 0; i < 5_000 && cache.stats().refreshFailures() < 20; i++) {
      StepVerifier.create(Mono.delay(Duration.ofMillis(1))).expectNextCount(1).verifyComplete();
    }
    assertThat(cache.stats().refreshes()).isEqualTo(20);
    assertThat(cache.stats().refreshFailures()).as("each sleep in a refresh was refused")
        .isEqualTo(20);
  }
}
