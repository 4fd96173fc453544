package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.core.testkit.Database;
import dev.cacheaside.testing.MutableClock;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.SchedulerClock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * {@link CacheAside#warm} on the in-memory store (it keeps leases as Redis does): the cap on
 * concurrent loads, counted; cached keys skipped; a write during the warm not overwritten;
 * failures counted, not fatal; cancellation leaves no lease; the rate cap in virtual time. The
 * redis module runs the write and the cancel on a real Redis ({@code WarmOnRedisIT}).
 */
class WarmTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final MutableClock clock = new MutableClock();
  private final InMemoryCacheStore memory = InMemoryCacheStore.builder().clock(clock).build();

  private CacheAsideBuilder<Integer, String> builder() {
    return CacheAside.<Integer, String>builder("w").store(memory).codec(Codec.utf8()).clock(clock);
  }

  private static WarmProgress last(Flux<WarmProgress> progress) {
    return progress.last().block(WAIT);
  }

  private static Map<Integer, String> rows(Set<Integer> keys) {
    Map<Integer, String> rows = new HashMap<>();
    keys.forEach(k -> rows.put(k, "v" + k));
    return rows;
  }

  private StoreLookup lookup(CacheAside<Integer, String> cache, int key) {
    return memory.getOrLease(cache.storeKey(key).block(WAIT), Duration.ofSeconds(5)).block(WAIT);
  }

  @Test
  void concurrentLoads_neverAboveTheCap_counted() {
    // Windows of 10 keys, loaded in chunks of 5: each window wants two loads at once, and the
    // cap of 3 admits 3 windows, so 6 loads want to run and 3 may.
    CacheAside<Integer, String> cache = builder().bulkWindow(10, Duration.ofSeconds(1))
        .bulkMaxLoadChunk(5).build();
    int cap = 3;
    Queue<Sinks.Empty<Void>> held = new ConcurrentLinkedQueue<>();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger calls = new AtomicInteger();
    BulkLoader<Integer, String> loader = keys -> Mono.defer(() -> {
      calls.incrementAndGet();
      peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      Sinks.Empty<Void> release = Sinks.empty();
      held.add(release);
      // A query ends when its rows are delivered: counted down before they travel on (a
      // doFinally here would run only after the permit, released at the same signal, started
      // the next query, and count both).
      return release.asMono().then(Mono.fromSupplier(() -> rows(keys)))
          .doOnTerminate(inFlight::decrementAndGet).doOnCancel(inFlight::decrementAndGet);
    });
    List<WarmProgress> progress = new CopyOnWriteArrayList<>();
    Disposable warm = cache.warm(Flux.range(0, 200), loader,
            WarmOptions.defaults().withMaxConcurrentLoads(cap))
        .subscribe(progress::add);

    Poll.until("the cap's loads in flight", WAIT, () -> held.size() == cap);
    while (!warm.isDisposed()) {
      Sinks.Empty<Void> next = held.poll();
      if (next == null) {
        Poll.until("a load to release, or the end", WAIT,
            () -> !held.isEmpty() || warm.isDisposed());
        continue;
      }
      assertThat(inFlight.get()).as("loads in flight").isLessThanOrEqualTo(cap);
      next.tryEmitEmpty();
    }

    assertThat(peak).as("peak concurrent loads").hasValue(cap);
    assertThat(calls).as("40 chunks of 5").hasValue(40);
    assertThat(progress.get(progress.size() - 1)).isEqualTo(new WarmProgress(200, 0, 0, 0));
    assertThat(progress).as("reported as it went").hasSizeGreaterThan(1);
    assertThat(cache.cacheAside(7, k -> Mono.just("loaded again")).block(WAIT)).isEqualTo("v7");
    assertThat(cache.stats().hits()).as("the warm's look-ups are not traffic").isEqualTo(1);
  }

  @Test
  void cachedKeys_skipped_notLoaded() {
    CacheAside<Integer, String> cache = builder().build();
    last(cache.warm(Flux.range(0, 500), new Database(Integer.MAX_VALUE), WarmOptions.defaults()));
    Database db = new Database(900);

    WarmProgress done = last(cache.warm(Flux.range(0, 1000), db, WarmOptions.defaults()));

    assertThat(done).isEqualTo(new WarmProgress(400, 100, 500, 0));
    assertThat(db.loadedKeys()).as("only the keys not cached").hasSize(500)
        .allSatisfy(key -> assertThat(key).isGreaterThanOrEqualTo(500));
    assertThat(last(cache.warm(Flux.range(0, 1000), db, WarmOptions.defaults())))
        .as("a second warm: everything cached, \"not found\" too")
        .isEqualTo(new WarmProgress(0, 0, 1000, 0));
  }

  @Test
  void writeDuringTheWarm_winsOverTheWarmsOlderValue() {
    CacheAside<Integer, String> cache = builder().build();
    Map<Integer, String> table = new HashMap<>(Map.of(1, "old", 2, "old"));
    Sinks.Empty<Void> loaded = Sinks.empty();
    Sinks.Empty<Void> resume = Sinks.empty();
    BulkLoader<Integer, String> loader = keys -> {
      Map<Integer, String> read = new HashMap<>();
      keys.forEach(k -> read.put(k, table.get(k))); // the rows as they are now: "old"
      loaded.tryEmitEmpty();
      return resume.asMono().thenReturn(read);
    };
    StepVerifier warm = StepVerifier.create(
            cache.warm(Flux.just(1, 2), loader, WarmOptions.defaults()).last())
        .expectNext(new WarmProgress(2, 0, 0, 0)).expectComplete().verifyLater();
    loaded.asMono().block(WAIT);

    // The write commits and invalidates key 1 while the warm holds the old row.
    cache.writeThenInvalidate(1, Mono.fromRunnable(() -> table.put(1, "new"))).block(WAIT);
    resume.tryEmitEmpty();
    warm.verify(WAIT);

    assertThat(cache.cacheAside(1, k -> Mono.just(table.get(k))).block(WAIT))
        .as("the warm's old value was not stored after the write").isEqualTo("new");
    assertThat(cache.cacheAside(2, k -> Mono.just("loaded again")).block(WAIT))
        .as("the key nobody wrote was warmed").isEqualTo("old");
    assertThat(cache.stats().loads()).as("the warm's two keys, and key 1 again").isEqualTo(3);
  }

  @Test
  void failedLoads_counted_theWarmGoesOn() {
    CacheAside<Integer, String> cache = builder().bulkWindow(10, Duration.ofSeconds(1)).build();
    BulkLoader<Integer, String> loader = keys -> keys.contains(13)
        ? Mono.error(new IllegalStateException("database said no"))
        : Mono.just(rows(keys));

    WarmProgress done = last(cache.warm(Flux.range(0, 50), loader, WarmOptions.defaults()));

    assertThat(done).isEqualTo(new WarmProgress(40, 0, 0, 10));
    assertThat(lookup(cache, 13)).as("nothing of the failed chunk stored, its lease given back")
        .isInstanceOf(StoreLookup.Granted.class);
  }

  @Test
  void cancel_stopsTakingKeys_andLeavesNoLease() {
    CacheAside<Integer, String> cache = builder().bulkWindow(10, Duration.ofSeconds(1)).build();
    Database db = new Database(Integer.MAX_VALUE);
    Sinks.Empty<Void> gate = Sinks.empty();
    db.gate = gate.asMono();
    Disposable warm = cache.warm(Flux.range(0, 100), db,
        WarmOptions.defaults().withMaxConcurrentLoads(1)).subscribe();
    Poll.until("the first window's load", WAIT, () -> db.calls.size() == 1);

    warm.dispose();
    gate.tryEmitEmpty();
    Poll.until("the started window's flights ended", WAIT,
        () -> cache.stats().readsInFlight() == 0);

    assertThat(db.calls).as("no window started after the cancel").hasSize(1);
    for (int key = 0; key < 100; key++) {
      StoreLookup lookup = lookup(cache, key);
      if (key < 10) {
        assertThat(lookup).as("key %d, warmed by the started window", key)
            .isInstanceOf(StoreLookup.Found.class);
      } else {
        assertThat(lookup).as("key %d: no lease left behind", key)
            .isInstanceOf(StoreLookup.Granted.class);
      }
    }
  }

  @Test
  void rateCap_keysPerSecond_inVirtualTime() {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    InMemoryCacheStore store = InMemoryCacheStore.builder().clock(new SchedulerClock(time)).build();
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("rate").store(store)
        .codec(Codec.utf8()).clock(new SchedulerClock(time)).scheduler(time)
        .bulkWindow(10, Duration.ofMillis(1)).build();
    Database db = new Database(Integer.MAX_VALUE);

    StepVerifier.withVirtualTime(() -> cache.warm(Flux.range(0, 100), db,
                WarmOptions.defaults().withMaxKeysPerSecond(50)).last(), () -> time, 1)
        .thenAwait(Duration.ofMillis(900))
        .then(() -> assertThat(db.loadedKeys()).as("in 0.9 s at 50 a second")
            .hasSizeLessThanOrEqualTo(50).hasSizeGreaterThanOrEqualTo(40))
        .thenAwait(Duration.ofSeconds(2))
        .expectNext(new WarmProgress(100, 0, 0, 0))
        .verifyComplete();
  }

  @Test
  void arguments_checkedAtOnce() {
    CacheAside<Integer, String> cache = builder().build();
    Database db = new Database(1);
    assertThatThrownBy(() -> cache.warm(null, db, WarmOptions.defaults()))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("keys");
    assertThatThrownBy(() -> cache.warm(Flux.just(1), db, null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("options");
    assertThatThrownBy(() -> WarmOptions.defaults().withMaxConcurrentLoads(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConcurrentLoads");
    assertThatThrownBy(() -> new WarmOptions(1, -5))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxKeysPerSecond");
    assertThat(last(cache.warm(Flux.empty(), db, WarmOptions.defaults())))
        .isEqualTo(WarmProgress.NONE);
  }
}
