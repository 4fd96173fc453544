package dev.cacheaside.redis;

import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.MutableClock;
import dev.cacheaside.testing.SchedulerClock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.testkit.QuiescentStore;
import dev.cacheaside.redis.RedisFixture.Topology;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Issue 7, early refresh, on a real Redis (standalone and cluster). Entries are stamped by a
 * fake clock the test moves, so "before expiry" does not depend on this machine's speed; the
 * store operations are real and asynchronous, and the test waits for them to finish
 * ({@link QuiescentStore}) before it moves the clock. Physical TTLs in Redis follow real time
 * and are long enough to outlast each test.
 */
class EarlyRefreshIT {
  private final List<RedisFixture> fixtures = new ArrayList<>();
  private final AtomicInteger pending = new AtomicInteger();

  @AfterEach
  void close() {
    fixtures.forEach(RedisFixture::close);
  }

  private RedisFixture fixture(Topology topology) {
    RedisFixture fixture = topology.open();
    fixtures.add(fixture);
    return fixture;
  }

  /** A new instance: its own connection and in-flight maps, as a separate service has. */
  private CacheAsideBuilder<String, String> instance(Topology topology, Clock clock) {
    RedisFixture fixture = fixtures.isEmpty() ? fixture(topology) : connect(topology);
    return CacheAside.<String, String>builder("refresh")
        .store(new QuiescentStore(fixture.store, pending)).codec(Codec.utf8()).clock(clock);
  }

  private RedisFixture connect(Topology topology) {
    RedisFixture fixture = topology == Topology.STANDALONE
        ? RedisFixture.standalone(dev.cacheaside.testing.TestRedis.get().client())
        : RedisFixture.cluster(dev.cacheaside.testing.TestRedisCluster.get().client());
    fixtures.add(fixture);
    return fixture;
  }

  /** Reads, failing clearly if the read waits for anything but Redis (a load held in time). */
  private static String read(CacheAside<String, String> cache, String key,
      Function<String, Mono<String>> loader) {
    try {
      return cache.cacheAside(key, loader).block(Duration.ofSeconds(10));
    } catch (IllegalStateException e) {
      throw new AssertionError("the read of " + key + " waited for a load", e);
    }
  }

  private static long sum(List<CacheAside<String, String>> caches, ToLongFunction<CacheStats> c) {
    return caches.stream().mapToLong(cache -> c.applyAsLong(cache.stats())).sum();
  }


  /**
   * A hot key read continuously by four instances over three TTLs, a loader that takes 200 ms of
   * (virtual) time: it is refreshed before every expiry, no reader ever misses or waits, and each
   * refresh is one load across the four instances.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void hotKey_fourInstances_refreshedBeforeExpiry_noReaderMissesOrWaits_oneLoadPerRefresh(
      Topology topology) {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    try {
      Clock clock = new SchedulerClock(time);
      SplittableRandom random = new SplittableRandom(3);
      List<CacheAside<String, String>> instances = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        instances.add(instance(topology, clock).ttl(Duration.ofSeconds(4))
            .staleGrace(Duration.ofMinutes(1)).scheduler(time)
            .refreshScheduler(Schedulers.immediate())
            .earlyRefresh(EarlyRefresh.xfetch(1.0, random::nextDouble)).build());
      }
      AtomicInteger calls = new AtomicInteger();
      AtomicInteger running = new AtomicInteger();
      AtomicInteger mostAtOnce = new AtomicInteger();
      Function<String, Mono<String>> loader = key -> {
        int n = calls.incrementAndGet();
        mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
        return Mono.delay(Duration.ofMillis(200), time).thenReturn("v" + n)
            .doFinally(s -> running.decrementAndGet());
      };
      AtomicReference<String> first = new AtomicReference<>();
      instances.get(0).cacheAside("hot", loader).subscribe(first::set);
      QuiescentStore.awaitQuiet(pending);
      time.advanceTimeBy(Duration.ofMillis(200));
      QuiescentStore.awaitQuiet(pending);
      assertThat(first.get()).isEqualTo("v1");

      // 12 s: a read every 10 ms, round robin over the instances
      List<String> seen = new ArrayList<>();
      for (int step = 0; step < 1200; step++) {
        time.advanceTimeBy(Duration.ofMillis(10));
        QuiescentStore.awaitQuiet(pending);
        seen.add(read(instances.get(step % 4), "hot", loader));
        QuiescentStore.awaitQuiet(pending);
      }

      long refreshes = sum(instances, CacheStats::refreshes);
      assertThat(sum(instances, CacheStats::misses)).as("only the first read missed").isOne();
      assertThat(sum(instances, CacheStats::staleHits)).as("nobody saw an expired value")
          .isZero();
      // XFetch refreshes earlier the more reads there are per load time (at 100 reads/s and a
      // 200 ms load, about 0.6 s before expiry), so a little more often than once per TTL.
      assertThat(refreshes).as("about one refresh per TTL").isBetween(2L, 5L);
      assertThat(calls).as("one load per refresh across four instances")
          .hasValue((int) refreshes + 1);
      assertThat(mostAtOnce).as("loads never overlapped").hasValue(1);
      assertThat(sum(instances, CacheStats::refreshFailures)).isZero();
      assertThat(sum(instances, CacheStats::totalRefreshLeadMillis)).isPositive();
      assertThat(seen).containsSubsequence("v1", "v2", "v3");
    } finally {
      time.dispose();
    }
  }

  /**
   * A hit starts a refresh whose loader reads the old row and is held; a write commits and
   * invalidates; a read after it loads the new row; then the refresh tries to store the old one.
   */
  private String invalidationDuringRefresh(Topology topology, boolean leases) {
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    AtomicReference<String> row = new AtomicReference<>("old");
    Sinks.One<String> held = Sinks.one();
    CountDownLatch refreshLoading = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      String seen = row.get();
      if (calls.incrementAndGet() != 2) {
        return Mono.just(seen);
      }
      refreshLoading.countDown();
      return held.asMono().thenReturn(seen);
    };
    CacheAside<String, String> cache = instance(topology, clock).leases(leases)
        .ttl(Duration.ofSeconds(30)).earlyRefresh(EarlyRefresh.ahead(0.5)).build();
    assertThat(read(cache, "k", loader)).isEqualTo("old");
    // The read's flight leaves the map on its own thread just after the value arrived here; a
    // read before that would join it instead of reading the store (and see no hit).
    QuiescentStore.awaitQuiet(pending);
    clock.advance(Duration.ofSeconds(16));
    assertThat(read(cache, "k", loader)).as("the hit is served at once").isEqualTo("old");
    Latches.await(refreshLoading, "the refresh to be loading");
    StepVerifier.create(cache.writeThenInvalidate("k", Mono.fromRunnable(() -> row.set("new"))))
        .verifyComplete();
    assertThat(read(cache, "k", loader))
        .as("a read after the invalidation does not join the refresh that began before it")
        .isEqualTo("new");
    held.tryEmitValue("go");
    QuiescentStore.awaitQuiet(pending);
    assertThat(cache.stats().refreshes()).isOne();
    CacheAside<String, String> other = instance(topology, clock).leases(leases)
        .ttl(Duration.ofSeconds(30)).build();
    return read(other, "k", key -> Mono.just("loaded again"));
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void invalidationDuringRefresh_withLeases_refreshedOldValueIsNotStored(Topology topology) {
    assertThat(invalidationDuringRefresh(topology, true)).isEqualTo("new");
  }

  @Test
  void invalidationDuringRefresh_withoutLeases_oldValueIsStored_provingTheTestCanFail() {
    assertThat(invalidationDuringRefresh(Topology.STANDALONE, false)).isEqualTo("old");
  }

  @Test
  void failingLoader_oldValueServedUntilExpiry_refreshAttemptsBackedOff() {
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    CacheAside<String, String> cache = instance(Topology.STANDALONE, clock)
        .ttl(Duration.ofSeconds(100)).earlyRefresh(EarlyRefresh.ahead(0.5))
        .refreshScheduler(Schedulers.immediate())
        .refreshBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30)).build();
    List<Long> attempts = new ArrayList<>();
    AtomicReference<Boolean> failing = new AtomicReference<>(false);
    Function<String, Mono<String>> loader = key -> {
      if (!failing.get()) {
        return Mono.just("v1");
      }
      synchronized (attempts) {
        attempts.add(clock.millis());
      }
      return Mono.error(new IllegalStateException("database down"));
    };
    long loadedAt = clock.millis();
    assertThat(read(cache, "k", loader)).isEqualTo("v1");
    QuiescentStore.awaitQuiet(pending);
    byte[] entry = fixtures.get(0).raw.get(RedisCacheStore.valueKey("refresh:k"));
    failing.set(true);

    for (int i = 1; i < 1_000; i++) {
      clock.advance(Duration.ofMillis(100));
      assertThat(read(cache, "k", loader)).isEqualTo("v1");
      QuiescentStore.awaitQuiet(pending);
    }
    // at the ahead point (45..50 s), then after 1, 2, 4, 8 and 16 s; the next would be 30 s
    // later (the cap), past the expiry at 100 s.
    assertThat(attempts).hasSize(6);
    assertThat(attempts.get(0) - loadedAt).isBetween(45_000L, 50_000L);
    List<Long> pauses = new ArrayList<>();
    for (int i = 1; i < attempts.size(); i++) {
      pauses.add(attempts.get(i) - attempts.get(i - 1));
    }
    assertThat(pauses).containsExactly(1_000L, 2_000L, 4_000L, 8_000L, 16_000L);
    assertThat(cache.stats().refreshFailures()).isEqualTo(6);
    assertThat(cache.stats().misses()).as("stats %s", cache.stats()).isOne();
    byte[] after = fixtures.get(0).raw.get(RedisCacheStore.valueKey("refresh:k"));
    assertThat(after).as("the failed refreshes left the entry as it was").isEqualTo(entry);
    assertThat(ByteBuffer.wrap(after).getLong(11) - loadedAt)
        .as("so it expires at its time: the envelope's expiresAt").isEqualTo(100_000L);
  }

  /**
   * {@code cacheAsideAll}: the due hits of a window are answered at once and refreshed with one
   * bulk load, stored under their leases ({@code setAllIfLeased}, split by slot in a cluster).
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void bulkHits_dueKeysOfAWindow_refreshedWithOneBulkLoad(Topology topology) {
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    CacheAside<String, String> cache = instance(topology, clock).ttl(Duration.ofSeconds(30))
        .refreshScheduler(Schedulers.immediate()).earlyRefresh(EarlyRefresh.ahead(0.5)).build();
    List<Set<String>> calls = new CopyOnWriteArrayList<>();
    AtomicInteger version = new AtomicInteger(1);
    BulkLoader<String, String> db = keys -> {
      calls.add(Set.copyOf(keys));
      int v = version.get();
      return Flux.fromIterable(keys).collectMap(k -> k, k -> v + "-" + k);
    };
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      keys.add("item" + i);
    }
    Supplier<Map<String, String>> readAll = () -> cache.cacheAsideAll(Flux.fromIterable(keys), db)
        .collectMap(BulkResult::key, r -> String.valueOf(r.value()))
        .block(Duration.ofSeconds(10));
    assertThat(readAll.get()).containsEntry("item7", "1-item7");
    clock.advance(Duration.ofSeconds(16));
    version.set(2);
    assertThat(readAll.get()).as("hits answered with the old values")
        .containsEntry("item7", "1-item7").hasSize(50);
    QuiescentStore.awaitQuiet(pending);
    assertThat(calls).hasSize(2);
    assertThat(calls.get(1)).as("one bulk load for the window's due keys")
        .containsExactlyInAnyOrderElementsOf(keys);
    assertThat(readAll.get()).containsEntry("item7", "2-item7").containsEntry("item49",
        "2-item49");
    assertThat(cache.stats().refreshes()).isEqualTo(50);
    assertThat(cache.stats().leasesLost()).isZero();
  }

  /**
   * BlockHound is installed in this JVM: hits, misses, bulk reads, invalidations and writes on
   * parallel threads, refreshes (single-key and bulk) started on the default (parallel) refresh
   * scheduler, all against Redis.
   */
  @Test
  void refreshPath_onRealRedis_neverBlocks() {
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    List<CacheAside<Integer, String>> caches = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      RedisFixture fixture = i == 0 ? fixture(Topology.STANDALONE) : connect(Topology.STANDALONE);
      caches.add(CacheAside.<Integer, String>builder("nb").store(fixture.store)
          .codec(Codec.utf8()).clock(clock).ttl(Duration.ofSeconds(5))
          .staleGrace(Duration.ofSeconds(5)).earlyRefresh(EarlyRefresh.ahead(0.2))
          .refreshBackoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
    }
    Function<Integer, Mono<String>> loader =
        k -> Mono.delay(Duration.ofMillis(1)).thenReturn("v" + k);
    BulkLoader<Integer, String> bulk = ks -> Mono.delay(Duration.ofMillis(1))
        .then(Flux.fromIterable(ks).collectMap(k -> k, k -> "v" + k));
    // 700 ms of entry time per round: entries become due after 1 s, stale after 5 s
    for (int round = 0; round < 12; round++) {
      Flux<String> work = Flux.range(0, 200).flatMap(i -> {
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
      clock.advance(Duration.ofMillis(700));
    }
    assertThat(caches.stream().mapToLong(c -> c.stats().refreshes()).sum()).isPositive();
    for (CacheAside<Integer, String> cache : caches) {
      assertThat(cache.stats().refreshFailures()).as("no refresh hit BlockHound").isZero();
      assertThat(cache.stats().loadFailures()).isZero();
      assertThat(cache.stats().storeErrors()).isZero();
    }
  }
}
