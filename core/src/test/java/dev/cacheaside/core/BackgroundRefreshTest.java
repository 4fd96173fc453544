package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.stats.CacheAsideMetrics;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.testing.MutableClock;
import dev.cacheaside.testing.VirtualTime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Early refresh through the cache, on the in-memory store in virtual time: every timer, loader
 * delay, refresh start and the clock that stamps entries run on one {@link VirtualTimeScheduler}
 * driven by the test thread, so "answered at once" means "answered before the test moved time".
 * The refresh scenarios every store shares (invalidation during a refresh, failed refreshes backed
 * off, bulk refresh, the hot key on four instances) are in core's scenario suite
 * ({@code CacheAsideScenarios}), run on this store and on Redis.
 */
class BackgroundRefreshTest {
  @RegisterExtension
  final VirtualTime virtual = new VirtualTime();
  private final VirtualTimeScheduler time = virtual.scheduler();
  private final Clock clock = virtual.clock();
  private final InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();

  private CacheAsideBuilder<String, String> instance() {
    return CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8()).clock(clock)
        .scheduler(time).refreshScheduler(time).ttl(Duration.ofSeconds(10));
  }

  /** Subscribes and returns what arrived before the test moves time: empty if the read waits. */
  private static Optional<String> readNow(CacheAside<String, String> cache, String key,
      Function<String, Mono<String>> loader) {
    AtomicReference<String> value = new AtomicReference<>();
    AtomicReference<Boolean> done = new AtomicReference<>(false);
    cache.cacheAside(key, loader).subscribe(value::set, e -> done.set(true), () -> done.set(true));
    assertThat(done.get() || value.get() != null).as("read of %s answered at once", key).isTrue();
    return Optional.ofNullable(value.get());
  }

  private static long sum(List<CacheAside<String, String>> caches,
      Function<CacheStats, Long> counter) {
    return caches.stream().mapToLong(c -> counter.apply(c.stats())).sum();
  }

  /** A loader taking {@code millis} of virtual time per call, answering "v1", "v2", ... */
  private final class SlowLoader implements Function<String, Mono<String>> {
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger mostAtOnce = new AtomicInteger();
    final List<Long> calledAt = new ArrayList<>();
    private final long millis;

    SlowLoader(long millis) {
      this.millis = millis;
    }

    @Override
    public Mono<String> apply(String key) {
      int n = calls.incrementAndGet();
      calledAt.add(clock.millis());
      mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
      return Mono.delay(Duration.ofMillis(millis), time).thenReturn("v" + n)
          .doFinally(s -> running.decrementAndGet());
    }
  }

  @Test
  void hotKey_readByFourInstances_refreshedBeforeExpiry_noCallerWaits_oneLoadPerRefresh() {
    SplittableRandom random = new SplittableRandom(1);
    List<CacheAside<String, String>> instances = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      instances.add(instance().earlyRefresh(EarlyRefresh.xfetch(1.0, random::nextDouble)).build());
    }
    SlowLoader loader = new SlowLoader(200);
    AtomicReference<String> first = new AtomicReference<>();
    instances.get(0).cacheAside("hot", loader).subscribe(first::set);
    time.advanceTimeBy(Duration.ofMillis(200));
    assertThat(first.get()).isEqualTo("v1");

    // 50 s (five TTLs) of reads, one every 5 ms, round robin over the instances
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      time.advanceTimeBy(Duration.ofMillis(5));
      seen.add(readNow(instances.get(i % 4), "hot", loader).orElseThrow());
    }

    long refreshes = sum(instances, CacheStats::refreshes);
    assertThat(sum(instances, CacheStats::misses)).as("only the first read missed").isEqualTo(1);
    assertThat(sum(instances, CacheStats::staleHits)).isZero();
    assertThat(refreshes).as("about one refresh per TTL").isBetween(4L, 6L);
    assertThat(loader.calls).as("one load per refresh across four instances")
        .hasValue((int) refreshes + 1);
    assertThat(loader.mostAtOnce).as("loads never overlapped").hasValue(1);
    assertThat(sum(instances, CacheStats::refreshFailures)).isZero();
    assertThat(sum(instances, CacheStats::totalRefreshLeadMillis))
        .as("refreshed ahead of expiry").isPositive();
    assertThat(seen).as("readers move to each refreshed value in order")
        .containsSubsequence("v1", "v2", "v3", "v4", "v5")
        .isSortedAccordingTo((a, b) -> Integer.compare(
            Integer.parseInt(a.substring(1)), Integer.parseInt(b.substring(1))));
    for (CacheAside<String, String> cache : instances) {
      assertThat((int) cache.stats().refreshesInFlight()).isZero();
    }
  }

  /**
   * Many concurrent hits on a due key, on real threads in four instances: each instance starts at
   * most one refresh, one of them wins the lease and loads, and every hit is answered with the
   * old value while that load is still held.
   */
  @Test
  void dueKey_fourInstances_250ConcurrentHitsEach_oneRefreshLoad_hitsNeverWait()
      throws InterruptedException {
    MutableClock wall = new MutableClock();
    InMemoryCacheStore shared = InMemoryCacheStore.builder().clock(wall).build();
    List<CacheAside<String, String>> instances = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      instances.add(CacheAside.<String, String>builder("t").store(shared).codec(Codec.utf8())
          .clock(wall).ttl(Duration.ofSeconds(10)).earlyRefresh(EarlyRefresh.ahead(0.5))
          .build());
    }
    AtomicInteger calls = new AtomicInteger();
    Sinks.One<String> held = Sinks.one();
    Function<String, Mono<String>> loader = key -> calls.incrementAndGet() == 1
        ? Mono.just("v1") : held.asMono();
    assertThat(instances.get(0).cacheAside("hot", loader).block()).isEqualTo("v1");
    wall.advance(Duration.ofSeconds(6));

    List<String> values = Flux.fromIterable(instances)
        .flatMap(cache -> Flux.range(0, 250)
            .flatMap(i -> cache.cacheAside("hot", loader).subscribeOn(Schedulers.parallel()), 250))
        .collectList()
        .block(Duration.ofSeconds(10));
    assertThat(values).as("answered while the refresh load is held").hasSize(1000)
        .containsOnly("v1");
    // Refreshes start in the background: wait (bounded) until the losers have given up.
    for (int i = 0; i < 1000 && (calls.get() < 2 || refreshing(instances) != 1); i++) {
      StepVerifier.create(Mono.delay(Duration.ofMillis(5))).expectNextCount(1).verifyComplete();
    }
    assertThat(calls).as("one refresh load across four instances").hasValue(2);
    assertThat(refreshing(instances)).isOne();
    held.tryEmitValue("v2");
    for (int i = 0; i < 1000 && refreshing(instances) != 0; i++) {
      StepVerifier.create(Mono.delay(Duration.ofMillis(5))).expectNextCount(1).verifyComplete();
    }
    CacheAside<String, String> fresh = CacheAside.<String, String>builder("t").store(shared)
        .codec(Codec.utf8()).clock(wall).build();
    assertThat(fresh.cacheAside("hot", loader).block()).as("the refresh stored v2")
        .isEqualTo("v2");
    assertThat(sum(instances, CacheStats::refreshes)).isOne();
  }

  private static int refreshing(List<CacheAside<String, String>> instances) {
    return instances.stream()
        .mapToInt(c -> (int) c.stats().refreshesInFlight()).sum();
  }

  @Test
  void noneByDefault_hotKeyExpires_readersWaitForTheLoad() {
    CacheAside<String, String> cache = instance().build();
    SlowLoader loader = new SlowLoader(200);
    cache.cacheAside("hot", loader).subscribe();
    time.advanceTimeBy(Duration.ofMillis(200));
    time.advanceTimeBy(Duration.ofMillis(9_999));
    assertThat(readNow(cache, "hot", loader)).contains("v1");
    time.advanceTimeBy(Duration.ofMillis(1));
    AtomicReference<String> late = new AtomicReference<>();
    cache.cacheAside("hot", loader).subscribe(late::set);
    assertThat(late.get()).as("the reader at expiry waits for the database").isNull();
    time.advanceTimeBy(Duration.ofMillis(200));
    assertThat(late.get()).isEqualTo("v2");
    assertThat(cache.stats().refreshes()).isZero();
  }

  @Test
  void refreshRecovers_afterFailures_storesTheNewValue_backoffReset() {
    CacheAside<String, String> cache = instance().earlyRefresh(EarlyRefresh.ahead(0.5))
        .refreshBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1)).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      int n = calls.incrementAndGet();
      return n == 2 ? Mono.error(new IllegalStateException("blip")) : Mono.just("v" + n);
    };
    assertThat(readNow(cache, "k", loader)).contains("v1");
    time.advanceTimeBy(Duration.ofSeconds(6));
    assertThat(readNow(cache, "k", loader)).contains("v1");
    assertThat(readNow(cache, "k", loader)).as("backing off: no attempt").contains("v1");
    assertThat(calls).hasValue(2);
    time.advanceTimeBy(Duration.ofSeconds(1));
    assertThat(readNow(cache, "k", loader)).as("still the old value; refresh stored v3")
        .contains("v1");
    assertThat(readNow(cache, "k", loader)).contains("v3");
    assertThat(cache.stats().refreshes()).isEqualTo(2);
    assertThat(cache.stats().refreshFailures()).isOne();
    assertThat(cache.stats().averageRefreshLeadMillis()).isEqualTo(3_000.0);
  }

  /**
   * The lead's constraint: while a refresh is in flight, hits are answered at once, but a miss
   * (the entry expired during the refresh) or a stale read joins the refresh's load instead of
   * starting another or polling the lease.
   */
  @ParameterizedTest(name = "leases={0}, staleGrace={1}s")
  @CsvSource({"true, 0", "true, 5", "false, 0", "false, 5"})
  void readsWhileRefreshing_hitsAnsweredAtOnce_missOrStaleJoinsTheRefresh(boolean leases,
      int graceSeconds) {
    CacheAside<String, String> cache = instance().leases(leases)
        .staleGrace(Duration.ofSeconds(graceSeconds))
        .earlyRefresh(EarlyRefresh.ahead(0.9)).build();
    SlowLoader loader = new SlowLoader(2_000);
    cache.cacheAside("k", loader).subscribe();
    time.advanceTimeBy(Duration.ofSeconds(2));
    // the entry was stored at 2 s and expires at 12 s; its ahead point is at most 11 s
    time.advanceTimeBy(Duration.ofMillis(9_500));
    assertThat(readNow(cache, "k", loader)).contains("v1");
    assertThat(loader.calls).as("refresh started").hasValue(2);
    time.advanceTimeBy(Duration.ofMillis(400));
    assertThat(readNow(cache, "k", loader)).as("a hit during the refresh").contains("v1");

    time.advanceTimeBy(Duration.ofMillis(200));
    AtomicReference<String> late = new AtomicReference<>();
    cache.cacheAside("k", loader).subscribe(late::set);
    assertThat(late.get()).as("past expiry the read waits for the refresh").isNull();
    time.advanceTimeBy(Duration.ofMillis(1_400));
    assertThat(late.get()).isEqualTo("v2");
    assertThat(loader.calls).as("the refresh was the only load").hasValue(2);
    assertThat(cache.stats().coalesced()).isOne();
    assertThat(readNow(cache, "k", loader)).contains("v2");
    assertThat(cache.stats().staleHits()).isZero();
  }

  @Test
  void negativeEntry_isRefreshedToo() {
    CacheAside<String, String> cache = instance().negativeTtl(Duration.ofSeconds(10))
        .earlyRefresh(EarlyRefresh.ahead(0.5)).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> calls.incrementAndGet() < 3
        ? Mono.empty() : Mono.just("appeared");
    assertThat(readNow(cache, "absent", loader)).isEmpty();
    time.advanceTimeBy(Duration.ofSeconds(6));
    assertThat(readNow(cache, "absent", loader)).isEmpty();
    assertThat(calls).hasValue(2);
    assertThat(cache.stats().negativeHits()).isOne();
    time.advanceTimeBy(Duration.ofSeconds(6));
    assertThat(readNow(cache, "absent", loader)).as("the refreshed negative entry").isEmpty();
    assertThat(readNow(cache, "absent", loader)).as("refreshed once more").contains("appeared");
  }

  @Test
  void hungRefresh_abandonedAtTheLeaseTtl_keyRefreshedAgainLater() {
    CacheAside<String, String> cache = instance().leaseTtl(Duration.ofSeconds(2))
        .earlyRefresh(EarlyRefresh.ahead(0.5))
        .refreshBackoff(Duration.ofMillis(500), Duration.ofMillis(500)).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      int n = calls.incrementAndGet();
      return n == 2 ? Mono.never() : Mono.just("v" + n);
    };
    assertThat(readNow(cache, "k", loader)).contains("v1");
    time.advanceTimeBy(Duration.ofSeconds(6));
    assertThat(readNow(cache, "k", loader)).contains("v1");
    assertThat((int) cache.stats().refreshesInFlight()).isOne();
    time.advanceTimeBy(Duration.ofSeconds(2));
    assertThat((int) cache.stats().refreshesInFlight()).isZero();
    assertThat(cache.stats().refreshFailures()).isOne();
    time.advanceTimeBy(Duration.ofMillis(500));
    assertThat(readNow(cache, "k", loader)).contains("v1");
    assertThat(readNow(cache, "k", loader)).contains("v3");
  }

  @Test
  void brokenRandomSource_refreshNotStarted_hitStillServed() {
    CacheAside<String, String> cache = instance()
        .earlyRefresh(EarlyRefresh.xfetch(1.0, () -> 2.0)).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> Mono.just("v" + calls.incrementAndGet());
    assertThat(readNow(cache, "k", loader)).contains("v1");
    assertThat(readNow(cache, "k", loader)).contains("v1");
    assertThat(calls).hasValue(1);
  }

  @Test
  void metrics_publishRefreshOutcomesAndLead() {
    CacheAside<String, String> cache = instance().earlyRefresh(EarlyRefresh.ahead(0.5))
        .refreshBackoff(Duration.ofMillis(1), Duration.ofMillis(1)).build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CacheAsideMetrics.of(cache).bindTo(registry);
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> calls.incrementAndGet() == 2
        ? Mono.error(new IllegalStateException("blip")) : Mono.just("v");
    readNow(cache, "k", loader);
    time.advanceTimeBy(Duration.ofSeconds(6));
    readNow(cache, "k", loader);
    time.advanceTimeBy(Duration.ofSeconds(1));
    readNow(cache, "k", loader);

    assertThat(registry.get("cache.refreshes").tags("cache", "t", "result", "success")
        .functionCounter().count()).isEqualTo(1.0);
    assertThat(registry.get("cache.refreshes").tags("result", "failure").functionCounter().count())
        .isEqualTo(1.0);
    assertThat(registry.get("cache.refresh.lead").functionCounter().count()).isEqualTo(3.0);
  }

  @ParameterizedTest
  @ValueSource(strings = {"earlyRefresh", "refreshScheduler", "refreshBackoff"})
  void builder_badRefreshOptions_failAtOnce(String option) {
    switch (option) {
      case "earlyRefresh" -> assertThatThrownBy(() -> instance().earlyRefresh(null))
          .isInstanceOf(NullPointerException.class).hasMessage("earlyRefresh must not be null");
      case "refreshScheduler" -> assertThatThrownBy(() -> instance().refreshScheduler(null))
          .isInstanceOf(NullPointerException.class)
          .hasMessage("refreshScheduler must not be null");
      default -> {
        assertThatThrownBy(() -> instance().refreshBackoff(Duration.ofSeconds(2),
            Duration.ofSeconds(1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("refreshBackoff max PT1S must not be less than min PT2S");
        assertThatThrownBy(() -> instance().refreshBackoff(Duration.ZERO, Duration.ofSeconds(1)))
            .hasMessage("refreshBackoff min must be positive but was PT0S");
      }
    }
  }
}
