package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import dev.cacheaside.core.testkit.FaultyStore;

class GenerationTest {
  private final MutableClock clock = new MutableClock();
  private final InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();

  private CacheAside<String, String> instance() {
    return CacheAside.<String, String>builder("g").store(store).codec(Codec.utf8()).clock(clock)
        .generationRefresh(Duration.ofSeconds(1)).build();
  }

  @Test
  void bumpGeneration_makesEveryOlderEntryUnreachable() {
    CacheAside<String, String> cache = instance();
    AtomicInteger loads = new AtomicInteger();
    cache.cacheAside("a", k -> Mono.just("old-a")).block();
    cache.cacheAside("b", k -> Mono.just("old-b")).block();
    long first = cache.bumpGeneration().block();
    StepVerifier.create(cache.cacheAside("a", k -> {
      loads.incrementAndGet();
      return Mono.just("new-a");
    })).expectNext("new-a").verifyComplete();
    assertThat(loads).hasValue(1);
    StepVerifier.create(cache.bumpGeneration()).expectNextMatches(g -> g > first)
        .verifyComplete();
  }

  @Test
  void bumpGeneration_reachesOtherInstancesWithinRefreshInterval() {
    CacheAside<String, String> a = instance();
    CacheAside<String, String> b = instance();
    b.cacheAside("k", k -> Mono.just("old")).block();
    a.bumpGeneration().block();
    StepVerifier.create(b.cacheAside("k", k -> Mono.just("new")))
        .as("within the refresh interval b may still serve the old generation")
        .expectNext("old").verifyComplete();
    clock.advance(Duration.ofSeconds(1));
    StepVerifier.create(b.cacheAside("k", k -> Mono.just("new")))
        .as("after it, b reads the new generation").expectNext("new").verifyComplete();
  }

  @Test
  void invalidate_afterBump_deletesTheCurrentGenerationsEntry() {
    CacheAside<String, String> cache = instance();
    String before = cache.storeKey("k").block();
    cache.bumpGeneration().block();
    String current = cache.storeKey("k").block();
    assertThat(current).as("another generation, another key").isNotEqualTo(before);
    cache.cacheAside("k", k -> Mono.just("v1")).block();
    assertThat(store.get(current).block()).isNotNull();
    cache.invalidate("k").block();
    assertThat(store.get(current).block()).isNull();
    cache.cacheAside("x", k -> Mono.just("x")).block();
    String x = cache.storeKey("x").block();
    assertThat(store.get(x).block()).isNotNull();
    cache.invalidateAll(List.of("x")).block();
    assertThat(store.get(x).block()).isNull();
  }

  @Test
  void generationReadFails_readsStillAnswered() {
    FaultyStore faulty = new FaultyStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("g").store(faulty)
        .codec(Codec.utf8()).clock(clock).build();
    faulty.mode = FaultyStore.Mode.DOWN;
    StepVerifier.create(cache.cacheAside("k", k -> Mono.just("v"))).expectNext("v")
        .verifyComplete();
  }

  @Test
  void generationNeverRead_storeDown_readsBypassTheStore_andRetryOncePerRefreshInterval() {
    FaultyStore faulty = new FaultyStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("g").store(faulty)
        .codec(Codec.utf8()).clock(clock).build();
    faulty.mode = FaultyStore.Mode.DOWN;
    for (int i = 0; i < 5; i++) {
      StepVerifier.create(cache.cacheAside("k", k -> Mono.just("from the loader")))
          .expectNext("from the loader").verifyComplete();
    }
    assertThat(cache.stats().storeErrors()).as("one failed generation read").isEqualTo(1);
    assertThat(faulty.calls).as("the generation and the clock, once; no entry read under a"
        + " guessed generation").hasValue(2);
    faulty.mode = FaultyStore.Mode.UP;
    clock.advance(Duration.ofSeconds(1));
    cache.cacheAside("k", k -> Mono.just("v")).block();
    AtomicInteger loads = new AtomicInteger();
    StepVerifier.create(cache.cacheAside("k", k -> {
      loads.incrementAndGet();
      return Mono.just("again");
    })).as("the cache is used again").expectNext("v").verifyComplete();
    assertThat(loads).hasValue(0);
  }

  @Test
  void generationKnown_thenTheStoreFails_theLastValueIsKept_andReReadOncePerInterval() {
    FaultyStore faulty = new FaultyStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("g").store(faulty)
        .codec(Codec.utf8()).clock(clock).build();
    cache.cacheAside("k", k -> Mono.just("v")).block();
    faulty.mode = FaultyStore.Mode.DOWN;
    clock.advance(Duration.ofSeconds(1));
    for (int i = 0; i < 5; i++) {
      cache.cacheAside("k", k -> Mono.just("v")).block();
    }
    long generationReadFailures = cache.stats().storeErrors() - 5 * 2; // GET and getOrLease each
    assertThat(generationReadFailures).as("one failed generation read for five reads").isEqualTo(1);
  }
}
