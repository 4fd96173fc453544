package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.core.testkit.Database;
import dev.cacheaside.core.testkit.FaultyStore;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.SchedulerClock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Hostile uses of {@link CacheAside#warm}: a key stream slower than the rate cap, a loader that
 * hangs, an endless key stream, a null key, a store that is down or frozen.
 */
class WarmAttacksTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final SchedulerClock clock = new SchedulerClock(time);
  private final InMemoryCacheStore memory = InMemoryCacheStore.builder().clock(clock).build();

  private CacheAsideBuilder<Integer, String> builder(dev.cacheaside.core.spi.CacheStore store) {
    return CacheAside.<Integer, String>builder("wa").store(store).codec(Codec.utf8())
        .clock(clock).scheduler(time);
  }

  private StoreLookup lookup(CacheAside<Integer, String> cache, int key) {
    return memory.getOrLease(cache.storeKey(key).block(WAIT), Duration.ofSeconds(5)).block(WAIT);
  }

  /**
   * A live key stream (keys as they are found, say from a log) that is slower than the rate cap:
   * the keys that arrived are warmed, not held until a tenth of a second's worth have come.
   */
  @Test
  void rateCap_keyStreamSlowerThanTheCap_keysThatCameAreWarmed() {
    CacheAside<Integer, String> cache = builder(memory).bulkWindow(10, Duration.ofMillis(1))
        .build();
    Database db = new Database(Integer.MAX_VALUE);
    Sinks.Many<Integer> keys = Sinks.many().unicast().onBackpressureBuffer();

    StepVerifier.withVirtualTime(() -> cache.warm(keys.asFlux(), db,
                WarmOptions.defaults().withMaxKeysPerSecond(1_000)), () -> time, Long.MAX_VALUE)
        .then(() -> {
          keys.tryEmitNext(1);
          keys.tryEmitNext(2);
          keys.tryEmitNext(3);
        })
        .thenAwait(Duration.ofSeconds(5))
        .expectNext(new WarmProgress(3, 0, 0, 0))
        .then(() -> assertThat(db.loadedKeys()).as("the three keys that came")
            .containsExactlyInAnyOrder(1, 2, 3))
        .then(keys::tryEmitComplete)
        .thenAwait(Duration.ofSeconds(1))
        .expectComplete().verify(WAIT);
  }

  /** A loader that never answers: bounded by the load timeout, its permit passed on. */
  @Test
  void hangingLoader_boundedByTheLoadTimeout_permitPassedOn_leaseGivenBack() {
    CacheAside<Integer, String> cache = builder(memory).bulkWindow(10, Duration.ofMillis(1))
        .loadTimeout(Duration.ofSeconds(2)).build();
    AtomicInteger calls = new AtomicInteger();
    BulkLoader<Integer, String> loader = keys -> {
      if (calls.getAndIncrement() == 0) {
        return Mono.never();
      }
      Map<Integer, String> rows = new HashMap<>();
      keys.forEach(k -> rows.put(k, "v" + k));
      return Mono.just(rows);
    };

    StepVerifier.withVirtualTime(() -> cache.warm(Flux.range(0, 20), loader,
                WarmOptions.defaults().withMaxConcurrentLoads(1)).last(), () -> time, 1)
        .thenAwait(Duration.ofSeconds(3))
        .expectNext(new WarmProgress(10, 0, 0, 10))
        .expectComplete().verify(WAIT);
    assertThat(calls).hasValue(2);
    int failedKey = -1;
    for (int key = 0; key < 20; key++) {
      if (!(lookup(cache, key) instanceof StoreLookup.Found)) {
        failedKey = key;
        break;
      }
    }
    assertThat(failedKey).as("a key of the hung chunk").isNotNegative();
  }

  /** An endless key stream is pulled as the warm goes, never buffered whole. */
  @Test
  void endlessKeyStream_pulledAsTheWarmGoes_rateCapped() {
    endlessKeyStream_pulledAsTheWarmGoes(WarmOptions.defaults().withMaxConcurrentLoads(2)
        .withMaxKeysPerSecond(100_000));
  }

  @Test
  void endlessKeyStream_pulledAsTheWarmGoes_unlimited() {
    endlessKeyStream_pulledAsTheWarmGoes(WarmOptions.defaults().withMaxConcurrentLoads(2));
  }

  private void endlessKeyStream_pulledAsTheWarmGoes(WarmOptions options) {
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("endless")
        .store(memory).codec(Codec.utf8()).bulkWindow(50, Duration.ofSeconds(1)).build();
    Database db = new Database(Integer.MAX_VALUE);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    AtomicLong pulled = new AtomicLong();
    Disposable warm = cache.warm(Flux.range(0, Integer.MAX_VALUE).doOnNext(k -> pulled
        .incrementAndGet()), db, options).subscribe();
    try {
      Poll.until("the cap's loads held", WAIT, () -> db.calls.size() == 2);
      assertThat(pulled.get()).as("keys pulled while two windows' loads are held")
          .isLessThanOrEqualTo(100_000);
    } finally {
      warm.dispose();
      gate.tryEmitEmpty();
    }
  }

  /** A null in a non-Reactor key stream: the warm fails, it does not hang. */
  @Test
  void nullKey_inTheStream_failsTheWarm() {
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("nulls")
        .store(memory).codec(Codec.utf8()).build();
    org.reactivestreams.Publisher<Integer> keys = subscriber -> subscriber.onSubscribe(
        new org.reactivestreams.Subscription() {
          boolean sent;

          @Override
          public void request(long n) {
            if (!sent) {
              sent = true;
              subscriber.onNext(1);
              subscriber.onNext(null);
            }
          }

          @Override
          public void cancel() {}
        });
    StepVerifier.create(cache.warm(keys, new Database(10), WarmOptions.defaults()))
        .thenConsumeWhile(p -> true)
        .expectError(NullPointerException.class)
        .verify(WAIT);
  }

  /** A store down for the whole warm: it ends, promptly, and every key is accounted for. */
  @Test
  void storeDown_warmEnds_everyKeyAccountedFor() {
    FaultyStore faulty = new FaultyStore(memory);
    faulty.mode = FaultyStore.Mode.DOWN;
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("down")
        .store(faulty).codec(Codec.utf8()).build();
    WarmProgress done = cache.warm(Flux.range(0, 100), new Database(Integer.MAX_VALUE),
        WarmOptions.defaults()).last().block(WAIT);
    assertThat(done.keys()).isEqualTo(100);
    assertThat(done.storeErrors()).as("a warm that stored nothing says so").isPositive();
  }

  /** A store frozen for the whole warm: bounded by the store timeout, in virtual time. */
  @Test
  void storeFrozen_warmEnds_boundedByTheStoreTimeout() {
    FaultyStore faulty = new FaultyStore(memory);
    faulty.mode = FaultyStore.Mode.FROZEN;
    CacheAside<Integer, String> cache = builder(faulty).bulkWindow(10, Duration.ofMillis(1))
        .build();
    StepVerifier.withVirtualTime(() -> cache.warm(Flux.range(0, 30),
                new Database(Integer.MAX_VALUE), WarmOptions.defaults()).last(), () -> time, 1)
        .thenAwait(Duration.ofMinutes(1))
        .assertNext(p -> assertThat(p.keys()).isEqualTo(30))
        .expectComplete().verify(WAIT);
  }
}
