package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import dev.cacheaside.core.testkit.CountingLoader;
import dev.cacheaside.core.testkit.FaultyStore;

/** The core read, miss, negative, error, cancel, invalidate and bad-input paths on the in-memory store. */
class CacheAsideTest {
  private final MutableClock clock = new MutableClock();
  private final InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();

  private CacheAsideBuilder<String, String> builder() {
    return CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8()).clock(clock);
  }

  @Test
  void cacheAside_isLazy() {
    CacheAside<String, String> cache = builder().build();
    CountingLoader loader = new CountingLoader();
    cache.cacheAside("a", loader);
    assertThat(loader.calls).hasValue(0);
    assertThat(store.size()).isZero();
  }

  @Test
  void cacheAside_zeroNegativeTtl_cachesNoNegative() {
    CacheAside<String, String> cache = builder().negativeTtl(Duration.ZERO).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> absent = key -> {
      calls.incrementAndGet();
      return Mono.empty();
    };
    StepVerifier.create(cache.cacheAside("gone", absent)).verifyComplete();
    StepVerifier.create(cache.cacheAside("gone", absent)).verifyComplete();
    assertThat(calls).hasValue(2);
    assertThat(store.size()).as("no lease left behind either").isZero();
  }

  @Test
  void cacheAside_loaderThrows_isTheCallsError() {
    CacheAside<String, String> cache = builder().build();
    StepVerifier.create(cache.cacheAside("k", key -> {
      throw new IllegalArgumentException("bad query");
    })).expectErrorMessage("bad query").verify(Duration.ofSeconds(5));
    StepVerifier.create(cache.cacheAside("k", key -> null))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(NullPointerException.class)
            .hasMessageContaining("loader returned null"))
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void cacheAside_oneWaiterCancels_othersStillComplete_loadNotCancelled() {
    CacheAside<String, String> cache = builder().build();
    AtomicInteger calls = new AtomicInteger();
    AtomicInteger loadCancels = new AtomicInteger();
    Sinks.One<String> gate = Sinks.one();
    Function<String, Mono<String>> loader = key -> {
      calls.incrementAndGet();
      return gate.asMono().doOnCancel(loadCancels::incrementAndGet);
    };
    Disposable first = cache.cacheAside("k", loader).subscribe();
    StepVerifier second = StepVerifier.create(cache.cacheAside("k", loader))
        .expectNext("v").expectComplete().verifyLater();
    first.dispose();
    assertThat(loadCancels).as("the first subscriber's cancel must not cancel the load").hasValue(0);
    gate.tryEmitValue("v");
    second.verify(Duration.ofSeconds(5));
    assertThat(calls).hasValue(1);
  }

  @Test
  void cacheAside_allSubscribersCancel_loadStillCompletesAndIsStored() {
    CacheAside<String, String> cache = builder().build();
    Sinks.One<String> gate = Sinks.one();
    cache.cacheAside("k", key -> gate.asMono()).subscribe().dispose();
    gate.tryEmitValue("v");
    CountingLoader loader = new CountingLoader();
    StepVerifier.create(cache.cacheAside("k", loader)).expectNext("v").verifyComplete();
    assertThat(loader.calls).hasValue(0);
    assertThat((int) cache.stats().readsInFlight()).isZero();
  }

  @Test
  void cacheAside_ttlWithJitter_expiresWithinBounds() {
    CacheAside<String, String> cache = builder().ttl(Duration.ofSeconds(100)).ttlJitter(0.2)
        .build();
    CountingLoader loader = new CountingLoader();
    int keys = 200;
    Flux.range(0, keys).concatMap(i -> cache.cacheAside("k" + i, loader)).blockLast();
    assertThat(loader.calls).hasValue(keys);

    clock.advance(Duration.ofMillis(79_999));
    Flux.range(0, keys).concatMap(i -> cache.cacheAside("k" + i, loader)).blockLast();
    assertThat(loader.calls).as("nothing expires before ttl × 0.8").hasValue(keys);

    clock.advance(Duration.ofMillis(40_002));
    Flux.range(0, keys).concatMap(i -> cache.cacheAside("k" + i, loader)).blockLast();
    assertThat(loader.calls).as("everything expired after ttl × 1.2").hasValue(2 * keys);
  }

  @Test
  void cacheAside_ttlJitter_spreadsExpiries() {
    CacheAside<String, String> cache = builder().ttl(Duration.ofSeconds(100)).ttlJitter(0.2)
        .build();
    CountingLoader loader = new CountingLoader();
    int keys = 200;
    Flux.range(0, keys).concatMap(i -> cache.cacheAside("k" + i, loader)).blockLast();
    clock.advance(Duration.ofSeconds(100));
    Flux.range(0, keys).concatMap(i -> cache.cacheAside("k" + i, loader)).blockLast();
    // Uniform in [80 s, 120 s]: about half expired at 100 s; 200 draws land in 60..140 with
    // overwhelming probability (p < 1e-8 outside).
    assertThat(loader.calls.get() - keys).isBetween(60, 140);
  }

  @Test
  void cacheAside_undecodableValue_isMissDeletedAndLoaded() {
    Codec<String> strict = new Codec<>() {
      @Override
      public byte[] encode(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
      }

      @Override
      public String decode(byte[] bytes) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        if (s.startsWith("old-")) {
          throw new IllegalArgumentException("unknown schema");
        }
        return s;
      }
    };
    CacheAside<String, String> cache = CacheAside.<String, String>builder("t").store(store)
        .codec(strict).clock(clock).build();
    cache.cacheAside("k", key -> Mono.just("old-format")).block();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("new"))).expectNext("new")
        .verifyComplete();
    assertThat(cache.stats().corruptEntries()).isEqualTo(1);
  }

  @Test
  void cacheAside_codecCannotEncode_failsClearly_storesNothing() {
    Codec<String> broken = new Codec<>() {
      @Override
      public byte[] encode(String value) {
        throw new IllegalArgumentException("cannot write " + value);
      }

      @Override
      public String decode(byte[] bytes) {
        return "";
      }
    };
    CacheAside<String, String> cache = CacheAside.<String, String>builder("t").store(store)
        .codec(broken).clock(clock).build();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("x")))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(CodecException.class)
            .hasMessageContaining("cache 't'").hasMessageContaining(":k")
            .hasMessageContaining("cannot write x"))
        .verify(Duration.ofSeconds(5));
    assertThat(store.size()).as("no value and no lease left").isZero();
  }

  @Test
  void cacheAside_oversizedValue_isServedNotCached() {
    CacheAside<String, String> cache = builder().maxValueBytes(10).build();
    CountingLoader loader = new CountingLoader();
    StepVerifier.create(cache.cacheAside("long-key-name", loader))
        .expectNext("value-of-long-key-name").verifyComplete();
    StepVerifier.create(cache.cacheAside("long-key-name", loader))
        .expectNext("value-of-long-key-name").verifyComplete();
    assertThat(loader.calls).hasValue(2);
    assertThat(cache.stats().uncachedValues()).isEqualTo(2);
    assertThat(store.size()).isZero();
  }

  @Test
  void cacheAside_storeDown_loaderAnswers_errorsCounted() {
    FaultyStore faulty = new FaultyStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("t").store(faulty)
        .codec(Codec.utf8()).clock(clock).build();
    faulty.mode = FaultyStore.Mode.DOWN;
    CountingLoader loader = new CountingLoader();
    StepVerifier.create(cache.cacheAside("k", loader)).expectNext("value-of-k").verifyComplete();
    StepVerifier.create(cache.invalidate("k")).expectErrorMessage("store is down")
        .verify(Duration.ofSeconds(5));
    assertThat(cache.stats().storeErrors()).isGreaterThanOrEqualTo(2);
    faulty.mode = FaultyStore.Mode.UP;
    StepVerifier.create(cache.cacheAside("k", loader)).expectNext("value-of-k").verifyComplete();
    assertThat(loader.calls).as("nothing was stored while the store was down").hasValue(2);
  }

  @Test
  void invalidate_removesEntry_nextReadLoads() {
    CacheAside<String, String> cache = builder().build();
    CountingLoader loader = new CountingLoader();
    cache.cacheAside("k", loader).block();
    StepVerifier.create(cache.invalidate("k")).verifyComplete();
    cache.cacheAside("k", loader).block();
    assertThat(loader.calls).hasValue(2);
  }

  @Test
  void invalidate_readAfterItCompleted_neverJoinsReadThatBeganBefore() {
    CacheAside<String, String> cache = builder().build();
    Sinks.One<String> oldRow = Sinks.one();
    StepVerifier before = StepVerifier.create(cache.cacheAside("k", key -> oldRow.asMono()))
        .expectNext("old").expectComplete().verifyLater();
    cache.invalidate("k").block();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("new")))
        .as("a read after the invalidation loads the new row instead of joining the old read")
        .expectNext("new").verifyComplete();
    oldRow.tryEmitValue("old");
    before.verify(Duration.ofSeconds(5));
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("newer")))
        .as("the old read lost its lease and stored nothing").expectNext("new").verifyComplete();
  }

  @Test
  void invalidateAll_removesEveryKey() {
    CacheAside<String, String> cache = builder().build();
    CountingLoader loader = new CountingLoader();
    Flux.just("a", "b", "c").concatMap(k -> cache.cacheAside(k, loader)).blockLast();
    cache.invalidateAll(List.of("a", "b")).block();
    Flux.just("a", "b", "c").concatMap(k -> cache.cacheAside(k, loader)).blockLast();
    assertThat(loader.calls).hasValue(5);
  }

  @Test
  void writeThenInvalidate_runsWriteThenDeletes() {
    CacheAside<String, String> cache = builder().build();
    cache.cacheAside("k", key -> Mono.just("old")).block();
    AtomicInteger writes = new AtomicInteger();
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.fromSupplier(() -> {
      writes.incrementAndGet();
      return 1;
    }))).expectNext(1).verifyComplete();
    assertThat(writes).hasValue(1);
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("new"))).expectNext("new")
        .verifyComplete();
  }

  @Test
  void writeThenInvalidate_emptyWrite_stillInvalidates() {
    CacheAside<String, String> cache = builder().build();
    cache.cacheAside("k", key -> Mono.just("old")).block();
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.empty())).verifyComplete();
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("new"))).expectNext("new")
        .verifyComplete();
  }

  @Test
  void writeThenInvalidate_failedWrite_invalidatesNothing() {
    FaultyStore counted = new FaultyStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("t").store(counted)
        .codec(Codec.utf8()).clock(clock).build();
    cache.cacheAside("k", key -> Mono.just("old")).block();
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.error(new IllegalStateException("x"))))
        .expectErrorMessage("x").verify(Duration.ofSeconds(5));
    assertThat(counted.deletes).hasValue(0);
    StepVerifier.create(cache.cacheAside("k", key -> Mono.just("new"))).expectNext("old")
        .verifyComplete();
  }

  @Test
  void writeThenInvalidate_invalidationFails_writeResultStillEmitted_failureCounted() {
    FaultyStore faulty = new FaultyStore(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("t").store(faulty)
        .codec(Codec.utf8()).clock(clock).build();
    cache.cacheAside("other", k -> Mono.just("v")).block();  // the generation is known
    faulty.mode = FaultyStore.Mode.DOWN;
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.just("committed")))
        .expectNext("committed").verifyComplete();
    assertThat(faulty.deletes).as("first try and three retries").hasValue(4);
    assertThat(cache.stats().invalidationFailures()).isEqualTo(1);
  }

  @Test
  void keyFormat_customAndDefault() {
    CacheAside<Long, String> byId = CacheAside.<Long, String>builder("products").store(store)
        .codec(Codec.utf8()).clock(clock).build();
    byId.cacheAside(42L, id -> Mono.just("p")).block();
    String storeKey = byId.storeKey(42L).block();
    assertThat(storeKey).as("name, generation, then the key as a string").startsWith("products:")
        .endsWith(":42");
    assertThat(store.get(storeKey).block()).isNotNull();

    CacheAside<Long, String> custom = CacheAside.<Long, String>builder("products").store(store)
        .codec(Codec.utf8()).clock(clock).keyFormat(id -> "p/" + id).build();
    custom.cacheAside(7L, id -> Mono.just("p")).block();
    assertThat(custom.storeKey(7L).block()).endsWith(":p/7");
    assertThat(store.get(custom.storeKey(7L).block()).block()).isNotNull();

    CacheAside<Long, String> broken = CacheAside.<Long, String>builder("products").store(store)
        .codec(Codec.utf8()).keyFormat(id -> "").build();
    assertThatThrownBy(() -> broken.cacheAside(1L, id -> Mono.just("p")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty string");
  }

  @Test
  void badInput_failsAtOnceWithClearMessages() {
    CacheAside<String, String> cache = builder().build();
    assertThatThrownBy(() -> cache.cacheAside(null, key -> Mono.just("x")))
        .isInstanceOf(NullPointerException.class).hasMessage("key must not be null");
    assertThatThrownBy(() -> cache.cacheAside("k", null))
        .isInstanceOf(NullPointerException.class).hasMessage("loader must not be null");
    assertThatThrownBy(() -> cache.invalidate(null))
        .isInstanceOf(NullPointerException.class).hasMessage("key must not be null");
    assertThatThrownBy(() -> cache.writeThenInvalidate("k", null))
        .isInstanceOf(NullPointerException.class).hasMessage("write must not be null");

    assertThatThrownBy(() -> CacheAside.builder(" "))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("name must not be blank");
    assertThatThrownBy(() -> builder().ttl(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("ttl must be positive but was PT-1S");
    assertThatThrownBy(() -> builder().ttl(Duration.ZERO))
        .hasMessage("ttl must be positive but was PT0S");
    assertThatThrownBy(() -> builder().ttlJitter(1.0))
        .hasMessage("ttlJitter must be in [0, 1) but was 1.0");
    assertThatThrownBy(() -> builder().ttlJitter(Double.NaN))
        .hasMessage("ttlJitter must be in [0, 1) but was NaN");
    assertThatThrownBy(() -> builder().negativeTtl(Duration.ofMillis(-5)))
        .hasMessage("negativeTtl must not be negative but was PT-0.005S");
    assertThatThrownBy(() -> builder().staleGrace(Duration.ofMillis(-5)))
        .hasMessage("staleGrace must not be negative but was PT-0.005S");
    assertThatThrownBy(() -> builder().leaseTtl(Duration.ZERO))
        .hasMessage("leaseTtl must be positive but was PT0S");
    assertThatThrownBy(() -> builder().leaseBackoff(Duration.ofMillis(50), Duration.ofMillis(10)))
        .hasMessage("leaseBackoff max PT0.01S must not be less than min PT0.05S");
    assertThatThrownBy(() -> builder().maxValueBytes(0))
        .hasMessage("maxValueBytes must be positive but was 0");
    assertThatThrownBy(() -> builder().store(null)).hasMessage("store must not be null");
    assertThatThrownBy(() -> CacheAside.<String, String>builder("x").codec(Codec.utf8()).build())
        .isInstanceOf(IllegalStateException.class).hasMessage("cache 'x': store(...) is required");
    assertThatThrownBy(() -> CacheAside.<String, String>builder("x").store(store).build())
        .isInstanceOf(IllegalStateException.class).hasMessage("cache 'x': codec(...) is required");
  }

  @Test
  void negativeTtl_defaultIsCappedAtTtl() {
    CacheAside<String, String> cache = builder().ttl(Duration.ofSeconds(5)).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> absent = key -> {
      calls.incrementAndGet();
      return Mono.empty();
    };
    cache.cacheAside("k", absent).block();
    clock.advance(Duration.ofSeconds(5));
    cache.cacheAside("k", absent).block();
    assertThat(calls).hasValue(2);
  }
}
